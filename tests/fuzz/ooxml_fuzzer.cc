// libFuzzer target: the ooxml unpacker on one input (see unpacker_fuzzer.h).
#include <cstddef>
#include <cstdint>

#include "unpacker_fuzzer.h"

namespace tollgate {
std::unique_ptr<Unpacker> MakeUnpacker_ooxml();
}  // namespace tollgate

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto unpacker = tollgate::MakeUnpacker_ooxml();
  static const tollgate::FileType type{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", ""};
  tollgate::fuzz::UnpackOnce(*unpacker, type, "fuzz.docx", data, size);
  return 0;
}
