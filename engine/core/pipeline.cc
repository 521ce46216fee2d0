#include "pipeline.h"

#include <fmt/format.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <tuple>

#include "child_sink.h"
#include "sha256.h"

namespace tollgate {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxPerRule = 16;

class CollectingSink final : public FindingSink {
 public:
  void Add(Finding finding) override {
    std::lock_guard lock(mutex_);
    findings_.push_back(std::move(finding));
  }
  // Sorted by object, engine, rule and offset, without repeats (libclamav and Tollgate's own
  // unpackers may both see the same layer), and at most kMaxPerRule findings of one rule: a bomb
  // refuses thousands of children for the same reason, and one summary says how many.
  std::vector<Finding> Take(const ObjectPath& root) {
    std::lock_guard lock(mutex_);
    auto key = [](const Finding& f) { return std::tie(f.object, f.engine, f.rule, f.offset, f.reason, f.detail); };
    std::sort(findings_.begin(), findings_.end(), [&](const Finding& a, const Finding& b) { return key(a) < key(b); });
    findings_.erase(std::unique(findings_.begin(), findings_.end()), findings_.end());

    std::map<std::pair<std::string, std::string>, size_t> per_rule;
    std::vector<Finding> kept;
    for (Finding& finding : findings_) {
      if (++per_rule[{finding.engine, finding.rule}] <= kMaxPerRule) kept.push_back(std::move(finding));
    }
    // Not a structured binding: clang before 16 cannot capture one in the lambda below.
    for (const auto& entry : per_rule) {
      const auto& rule = entry.first;
      const size_t count = entry.second;
      if (count <= kMaxPerRule) continue;
      auto first = std::find_if(kept.begin(), kept.end(),
                                [&](const Finding& f) { return f.engine == rule.first && f.rule == rule.second; });
      Finding summary = *first;
      summary.object = root.ToString();
      summary.offset.reset();
      summary.detail = fmt::format("{} more findings of this rule are not listed", count - kMaxPerRule);
      kept.push_back(std::move(summary));
    }
    return kept;
  }

 private:
  std::mutex mutex_;
  std::vector<Finding> findings_;
};

std::string_view ReasonFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kDeadlineExceeded: return "timeout";
    case StatusCode::kResourceExhausted: return "limit";
    case StatusCode::kDataLoss: return "parse_error";
    default: return "engine_error";
  }
}

}  // namespace

struct Pipeline::Upload {
  Clock::time_point deadline;
  ScanBudget budget;
  CollectingSink findings;
  std::vector<std::unique_ptr<UploadState>> detector_states;  // one per detector, in RuleSet order
  std::atomic<bool> timeout_reported{false};
  const LayerObserver* entering = nullptr;
  tbb::task_group tasks;

  void Enter(const ObjectPath& layer) const {
    if (entering != nullptr) (*entering)(layer);
  }
};

const Unpacker* Pipeline::FindUnpacker(const FileType& type) const {
  for (const auto& unpacker : unpackers_) {
    if (unpacker->Accepts(type)) return unpacker.get();
  }
  return nullptr;
}

void Pipeline::RunDetectors(Upload& upload, const ScanObject& object, const Detector* skip) const {
  for (size_t i = 0; i < rules_.detectors.size(); ++i) {
    const Detector* detector = rules_.detectors[i].get();
    if (detector == skip) continue;
    if (ReportIfExpired(upload, object.path)) return;
    ScanContext ctx(
        upload.deadline,
        [this, &upload, &object, detector](const ScanObject& layer) {
          ScanObject typed = layer;
          typed.type = typer_.Identify(layer.bytes);
          typed.depth = std::max(layer.depth, object.depth + 1);
          upload.budget.layers.fetch_add(1);
          upload.Enter(typed.path);
          RunDetectors(upload, typed, detector);
        },
        upload.detector_states[i].get());
    Status status = detector->Scan(object, ctx, upload.findings);
    if (!status.ok()) {
      upload.findings.Add(IncompleteFinding(detector->Name(), ReasonFor(status), object.path, status.ToString()));
    }
  }
}

bool Pipeline::ReportIfExpired(Upload& upload, const ObjectPath& where) const {
  if (Clock::now() < upload.deadline) return false;
  if (!upload.timeout_reported.exchange(true)) {
    upload.findings.Add(IncompleteFinding("tollgate", "timeout", where, "scan deadline reached before this layer was done"));
  }
  return true;
}

void Pipeline::Process(Upload& upload, ScanObject object) const {
  if (ReportIfExpired(upload, object.path)) return;
  const Unpacker* unpacker = FindUnpacker(object.type);
  if (unpacker != nullptr) object.unpacked_by = unpacker->Name();
  upload.Enter(object.path);
  RunDetectors(upload, object, nullptr);
  if (unpacker == nullptr) return;
  if (object.depth + 1 > limits_.max_depth) {
    upload.findings.Add(IncompleteFinding("tollgate", "max_depth", object.path,
                                          fmt::format("children would be at depth {} > {}", object.depth + 1,
                                                      limits_.max_depth)));
    return;
  }

  const uint32_t child_depth = object.depth + 1;
  LimitedChildSink sink(object, limits_, upload.budget, upload.deadline, upload.findings,
                        [this, &upload, child_depth](ObjectPath path, std::vector<uint8_t> bytes) {
                          auto owned = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
                          upload.tasks.run([this, &upload, child_depth, path = std::move(path), owned] {
                            // Children queued before the deadline must not cost a libmagic call after it.
                            if (ReportIfExpired(upload, path)) return;
                            Process(upload, ScanObject{path, typer_.Identify(*owned), *owned, child_depth, {}});
                          });
                        },
                        passwords_);
  upload.Enter(object.path);  // again: a detector may have scanned layers of its own meanwhile
  Status status = unpacker->Unpack(object, sink);
  // An unpacker stops quietly at the deadline; what it left unread must not pass as clean.
  ReportIfExpired(upload, object.path);
  // Limit refusals are already findings; anything else means the container was not fully read.
  if (!status.ok() && status.code() != StatusCode::kResourceExhausted) {
    upload.findings.Add(IncompleteFinding("tollgate", ReasonFor(status), object.path,
                                          fmt::format("{} unpacker: {}", unpacker->Name(), status.ToString())));
  }
}

ScanReport Pipeline::Run(std::string_view root_name, std::span<const uint8_t> bytes, const Policy& policy,
                         Clock::time_point deadline, const LayerObserver* entering) const {
  const auto started = Clock::now();
  Upload upload;
  upload.deadline = std::min(deadline, started + limits_.max_scan_time);
  upload.entering = entering;

  ScanReport report;
  report.name = std::string(root_name);
  report.sha256 = Sha256Hex(bytes);
  report.size = bytes.size();
  report.type = typer_.Identify(bytes);
  report.rules_version = rules_.version;

  for (const auto& detector : rules_.detectors) upload.detector_states.push_back(detector->NewUploadState());
  ScanObject root{ObjectPath(report.name), report.type, bytes, 0, {}};
  if (bytes.size() > limits_.max_layer_bytes) {
    upload.findings.Add(IncompleteFinding("tollgate", "max_layer_bytes", root.path,
                                          fmt::format("{} bytes > {}", bytes.size(), limits_.max_layer_bytes)));
  } else {
    Process(upload, root);
  }
  upload.tasks.wait();
  for (size_t i = 0; i < rules_.detectors.size(); ++i) {
    if (upload.detector_states[i]) rules_.detectors[i]->FinishUpload(*upload.detector_states[i], upload.findings);
  }

  report.findings = upload.findings.Take(root.path);
  Decision decision = policy.Decide(report.findings);
  report.verdict = decision.verdict;
  report.action = decision.action;
  report.deciding = std::move(decision.deciding);
  report.layers = upload.budget.layers.load();
  report.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
  return report;
}

}  // namespace tollgate
