// libFuzzer target: the ole2 unpacker on one input (see unpacker_fuzzer.h).
#include <cstddef>
#include <cstdint>

#include "unpacker_fuzzer.h"

namespace tollgate {
std::unique_ptr<Unpacker> MakeUnpacker_ole2();
}  // namespace tollgate

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto unpacker = tollgate::MakeUnpacker_ole2();
  static const tollgate::FileType type{"application/x-ole-storage", ""};
  tollgate::fuzz::UnpackOnce(*unpacker, type, "fuzz.doc", data, size);
  return 0;
}
