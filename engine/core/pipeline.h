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
           const ScanLimits& limits, const std::vector<std::string>& passwords)
      : rules_(rules), unpackers_(unpackers), typer_(typer), limits_(limits), passwords_(passwords) {}

  // Thread-safe. `root_name` is the name the root layer gets in object paths. The scan stops at the
  // earlier of `deadline` and the max_scan_time limit. `entering` (may be null) hears of each layer
  // as its detectors or its unpacker start.
  ScanReport Run(std::string_view root_name, std::span<const uint8_t> bytes, const Policy& policy,
                 std::chrono::steady_clock::time_point deadline, const LayerObserver* entering) const;

 private:
  struct Upload;
  void Process(Upload& upload, ScanObject object) const;
  // Records one `timeout` finding per upload once the deadline has passed; true if it has.
  bool ReportIfExpired(Upload& upload, const ObjectPath& where) const;
  void RunDetectors(Upload& upload, const ScanObject& object, const Detector* skip) const;
  const Unpacker* FindUnpacker(const FileType& type) const;

  const RuleSet& rules_;
  const std::vector<std::unique_ptr<Unpacker>>& unpackers_;
  const FileTyper& typer_;
  const ScanLimits& limits_;
  const std::vector<std::string>& passwords_;
};

}  // namespace tollgate
