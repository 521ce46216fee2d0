// Drives one of Tollgate's own unpackers on a fuzzer input through the real limit-enforcing sink
// (LimitedChildSink) with the default scan limits, so the fuzzer explores exactly what a scan would
// let the unpacker do. Children and findings are dropped: only the unpacker's own parsing is fuzzed.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "child_sink.h"
#include "tollgate/limits.h"
#include "tollgate/unpacker.h"

namespace tollgate::fuzz {

class DroppedFindings final : public FindingSink {
 public:
  void Add(Finding) override {}
};

inline void UnpackOnce(const Unpacker& unpacker, const FileType& type, std::string_view name, const uint8_t* data,
                       size_t size) {
  static const ScanLimits limits;
  static const std::vector<std::string> passwords;
  const ScanObject parent{ObjectPath(std::string(name)), type, std::span<const uint8_t>(data, size), 0,
                          unpacker.Name()};
  ScanBudget budget;
  DroppedFindings findings;
  LimitedChildSink sink(parent, limits, budget, std::chrono::steady_clock::now() + limits.max_scan_time, findings,
                        [](ObjectPath, std::vector<uint8_t>, const ChildTraits&) {}, passwords);
  // A non-OK Status is a failure of Tollgate reported to the pipeline, not a crash: only memory
  // errors, undefined behaviour, aborts, leaks and hangs are bugs here.
  (void)unpacker.Unpack(parent, sink);
}

}  // namespace tollgate::fuzz

// The libFuzzer entry point of one unpacker target: runs the unpacker NAME (MakeUnpacker_NAME, from
// its library's registration) on each input as a layer of type MIME named FILE_NAME.
#define TOLLGATE_UNPACKER_FUZZER(NAME, MIME, FILE_NAME)                               \
  namespace tollgate {                                                               \
  std::unique_ptr<Unpacker> MakeUnpacker_##NAME();                                   \
  }                                                                                  \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {          \
    static const auto unpacker = tollgate::MakeUnpacker_##NAME();                    \
    static const tollgate::FileType type{MIME, ""};                                  \
    tollgate::fuzz::UnpackOnce(*unpacker, type, FILE_NAME, data, size);              \
    return 0;                                                                        \
  }
