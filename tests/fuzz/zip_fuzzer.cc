// libFuzzer target: the zip unpacker on one input (see unpacker_fuzzer.h).
#include <cstddef>
#include <cstdint>

#include "unpacker_fuzzer.h"

namespace tollgate {
std::unique_ptr<Unpacker> MakeUnpacker_zip();
}  // namespace tollgate

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto unpacker = tollgate::MakeUnpacker_zip();
  static const tollgate::FileType type{"application/zip", ""};
  tollgate::fuzz::UnpackOnce(*unpacker, type, "fuzz.zip", data, size);
  return 0;
}
