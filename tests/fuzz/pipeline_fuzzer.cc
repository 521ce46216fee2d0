// libFuzzer target: the whole scan of one upload (typing, every unpacker, libclamav, YARA,
// Hyperscan, policy) with the shipped rules and default limits, as `tollgate scan` runs it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>

#include "tollgate/scanner.h"

namespace {

// Compiling the rules takes seconds: once per fuzzing process, not per input.
std::unique_ptr<tollgate::Scanner> scanner;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto created = tollgate::Scanner::Create(tollgate::ScannerOptions{});
  if (!created.ok()) {
    std::fprintf(stderr, "pipeline_fuzzer: %s\n", created.status().message().c_str());
    std::exit(1);
  }
  scanner = std::move(*created);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)scanner->Scan("upload", std::span<const uint8_t>(data, size));
  return 0;
}
