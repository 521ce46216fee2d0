// libFuzzer target: the pdf unpacker on one input (see unpacker_fuzzer.h).
#include <cstddef>
#include <cstdint>

#include "unpacker_fuzzer.h"

namespace tollgate {
std::unique_ptr<Unpacker> MakeUnpacker_pdf();
}  // namespace tollgate

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto unpacker = tollgate::MakeUnpacker_pdf();
  static const tollgate::FileType type{"application/pdf", ""};
  tollgate::fuzz::UnpackOnce(*unpacker, type, "fuzz.pdf", data, size);
  return 0;
}
