// The path every upload takes: type → detect → unpack → (children, in parallel) → policy → report.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "file_typing.h"
#include "tollgate/detector.h"
#include "tollgate/policy.h"
#include "tollgate/scanner.h"
#include "tollgate/unpacker.h"

namespace tollgate {

// Compiled rules of every engine: immutable once built, shared by all scans that started on it.
struct RuleSet {
  std::vector<std::unique_ptr<Detector>> detectors;  // in detector_list order
  std::vector<EngineInfo> engines;
  std::string version;
};

class Pipeline {
 public:
  Pipeline(const RuleSet& rules, const std::vector<std::unique_ptr<Unpacker>>& unpackers, const FileTyper& typer,
           const ScanLimits& limits, const std::vector<std::string>& passwords);

  // Thread-safe. `root_name` is the name the root layer gets in object paths. The scan stops at the
  // earlier of `deadline` and the max_scan_time limit. `entering` (may be null) hears of each layer
  // as its detectors or its unpacker start.
  ScanReport Run(std::string_view root_name, std::span<const uint8_t> bytes, const Policy& policy,
                 std::chrono::steady_clock::time_point deadline, const LayerObserver* entering) const;

 private:
  struct Upload;
  class ContentBatcher;
  void Process(Upload& upload, ScanObject object, Words words) const;
  // Hands a file-like child to a task of its own, typed by libmagic unless its unpacker knew the type.
  void ProcessChild(Upload& upload, ObjectPath path, std::vector<uint8_t> bytes, FileType type, Words words,
                    uint32_t depth) const;
  void ScanContent(Upload& upload, const ContentBatch& batch) const;
  // Records one `timeout` finding per upload once the deadline has passed; true if it has.
  bool ReportIfExpired(Upload& upload, const ObjectPath& where) const;
  void RunDetectors(Upload& upload, const ScanObject& object, const Detector* skip) const;
  ScanContext ContextFor(Upload& upload, size_t detector_index, uint32_t layer_depth) const;
  const Unpacker* FindUnpacker(const ScanObject& object) const;
  FileType Identify(Upload& upload, std::span<const uint8_t> bytes) const;

  const RuleSet& rules_;
  const std::vector<std::unique_ptr<Unpacker>>& unpackers_;
  const FileTyper& typer_;
  const ScanLimits& limits_;
  const std::vector<std::string>& passwords_;
  // StageClock slots: typing, then one per unpacker, one per detector on files and one per detector
  // on content streams, each in their order, then policy.
  std::vector<std::string> stage_names_;
  size_t unpack_slots_;
  size_t detect_slots_;
  size_t content_slots_;
  size_t policy_slot_;
};

}  // namespace tollgate
