#include "pipeline.h"

#include <fmt/format.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <tuple>

#include "child_sink.h"
#include "stage_clock.h"
#include "tollgate/sha256.h"
#include "words.h"

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

constexpr size_t kTypingSlot = 0;

}  // namespace

Pipeline::Pipeline(const RuleSet& rules, const std::vector<std::unique_ptr<Unpacker>>& unpackers,
                   const FileTyper& typer, const ScanLimits& limits, const std::vector<std::string>& passwords)
    : rules_(rules), unpackers_(unpackers), typer_(typer), limits_(limits), passwords_(passwords) {
  stage_names_.push_back("typing");
  unpack_slots_ = stage_names_.size();
  for (const auto& unpacker : unpackers_) stage_names_.push_back(fmt::format("unpack.{}", unpacker->Name()));
  detect_slots_ = stage_names_.size();
  for (const auto& detector : rules_.detectors) stage_names_.push_back(fmt::format("detect.{}", detector->Name()));
  content_slots_ = stage_names_.size();
  for (const auto& detector : rules_.detectors) {
    stage_names_.push_back(fmt::format("detect.{}.content", detector->Name()));
  }
  policy_slot_ = stage_names_.size();
  stage_names_.push_back("policy");
}

struct Pipeline::Upload {
  explicit Upload(const std::vector<std::string>& stage_names) : stages(stage_names) {}

  Clock::time_point deadline;
  ScanBudget budget;
  CollectingSink findings;
  std::vector<std::unique_ptr<UploadState>> detector_states;  // one per detector, in RuleSet order
  std::atomic<bool> timeout_reported{false};
  const LayerObserver* entering = nullptr;
  StageClock stages;
  tbb::task_group tasks;

  void Enter(const ObjectPath& layer) const {
    if (entering != nullptr) (*entering)(layer);
  }
};

// Gathers the content streams one container yields into batches of about kContentBatchBytes, each
// scanned by a task of its own as soon as it is full (and the last when the container is done), so
// memory stays bounded and a large document's batches are scanned in parallel.
class Pipeline::ContentBatcher {
 public:
  ContentBatcher(const Pipeline& pipeline, Upload& upload, const ObjectPath& container, uint32_t container_depth)
      : pipeline_(pipeline), upload_(upload), container_(container), container_depth_(container_depth) {}
  ContentBatcher(const ContentBatcher&) = delete;
  ContentBatcher& operator=(const ContentBatcher&) = delete;

  // `kind` is kContentStream or kPackagePart: each kind, prose or not, has its batch.
  void Add(ObjectPath path, std::vector<uint8_t> bytes, LayerKind kind, FileType type, bool prose) {
    std::shared_ptr<Pending>& pending = pending_[(kind == LayerKind::kPackagePart ? 2 : 0) + (prose ? 1 : 0)];
    if (pending && pending->bytes.size() + bytes.size() > kContentBatchBytes) Flush(pending);
    if (!pending) pending = std::make_shared<Pending>(Pending{{}, {}, kind, prose});
    const uint64_t offset = pending->bytes.size();
    const uint64_t size = bytes.size();
    if (pending->bytes.empty()) {
      pending->bytes = std::move(bytes);
    } else {
      pending->bytes.insert(pending->bytes.end(), bytes.begin(), bytes.end());
    }
    if (type.mime.empty()) type.mime = "application/octet-stream";
    pending->streams.push_back({std::move(path), std::move(type), offset, size});
  }

  // Scans what is left, once the container is done.
  void Finish() {
    for (std::shared_ptr<Pending>& pending : pending_) Flush(pending);
  }

 private:
  // Engines' fixed costs per call are paid once per batch; larger batches save little more.
  static constexpr uint64_t kContentBatchBytes = 8 << 20;
  struct Stream {
    ObjectPath path;
    FileType type;
    uint64_t offset;
    uint64_t size;
  };
  struct Pending {
    std::vector<uint8_t> bytes;
    std::vector<Stream> streams;
    LayerKind kind;
    bool prose;
  };

  void Flush(std::shared_ptr<Pending>& pending) {
    if (!pending) return;
    upload_.tasks.run([&pipeline = pipeline_, &upload = upload_, container = container_, depth = container_depth_,
                       pending = std::move(pending)] {
      ContentBatch batch{container, depth, pending->kind, pending->prose, pending->bytes, {}};
      const std::span<const uint8_t> bytes(pending->bytes);
      for (const Stream& stream : pending->streams) {
        batch.streams.push_back(ScanObject{stream.path, stream.type, bytes.subspan(stream.offset, stream.size),
                                           depth + 1, {}, pending->kind, pending->prose});
      }
      pipeline.ScanContent(upload, batch);
    });
  }

  const Pipeline& pipeline_;
  Upload& upload_;
  ObjectPath container_;
  uint32_t container_depth_;
  // Content streams, then package parts; each not prose, then prose.
  std::array<std::shared_ptr<Pending>, 4> pending_;
};

FileType Pipeline::Identify(Upload& upload, std::span<const uint8_t> bytes) const {
  const StageClock::Timer timer(upload.stages, kTypingSlot, bytes.size());
  return typer_.Identify(bytes);
}

const Unpacker* Pipeline::FindUnpacker(const ScanObject& object) const {
  for (const auto& unpacker : unpackers_) {
    if (unpacker->Accepts(object)) return unpacker.get();
  }
  return nullptr;
}

// `layer_depth` is the depth of the layer(s) being scanned: layers the detector extracts itself
// (libclamav's recursion) go through every other detector as files one level further down at least.
ScanContext Pipeline::ContextFor(Upload& upload, size_t detector_index, uint32_t layer_depth) const {
  const Detector* detector = rules_.detectors[detector_index].get();
  return ScanContext(
      upload.deadline,
      [this, &upload, detector, layer_depth](const ScanObject& layer) {
        ScanObject typed = layer;
        typed.depth = std::max(layer.depth, layer_depth + 1);
        if (!AdmitExtractedLayer(typed.path, typed.depth, typed.bytes.size(), limits_, upload.budget, upload.findings)
                 .ok()) {
          return false;
        }
        typed.type = Identify(upload, layer.bytes);
        typed.kind = LayerKind::kFile;
        typed.prose = IsProse(typed, Words::kByType, false);
        upload.Enter(typed.path);
        RunDetectors(upload, typed, detector);
        return true;
      },
      upload.detector_states[detector_index].get());
}

void Pipeline::RunDetectors(Upload& upload, const ScanObject& object, const Detector* skip) const {
  for (size_t i = 0; i < rules_.detectors.size(); ++i) {
    const Detector* detector = rules_.detectors[i].get();
    if (detector == skip) continue;
    if (ReportIfExpired(upload, object.path)) return;
    const StageClock::Timer timer(upload.stages, detect_slots_ + i, object.bytes.size());
    Status status = detector->Scan(object, ContextFor(upload, i, object.depth), upload.findings);
    if (!status.ok()) {
      upload.findings.Add(IncompleteFinding(detector->Name(), ReasonFor(status), object.path, status.ToString()));
    }
  }
}

void Pipeline::ScanContent(Upload& upload, const ContentBatch& batch) const {
  for (size_t i = 0; i < rules_.detectors.size(); ++i) {
    if (ReportIfExpired(upload, batch.container)) return;
    // A parser that fails here failed on one of the container's content streams.
    upload.Enter(batch.container);
    const Detector& detector = *rules_.detectors[i];
    if (!detector.ScansContent(batch.kind)) continue;
    const StageClock::Timer timer(upload.stages, content_slots_ + i, batch.bytes.size());
    Status status = detector.ScanContent(batch, ContextFor(upload, i, batch.container_depth + 1), upload.findings);
    if (!status.ok()) {
      upload.findings.Add(IncompleteFinding(detector.Name(), ReasonFor(status), batch.container, status.ToString()));
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

void Pipeline::ProcessChild(Upload& upload, ObjectPath path, std::vector<uint8_t> bytes, FileType type, Words words,
                            uint32_t depth) const {
  auto owned = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
  upload.tasks.run([this, &upload, depth, words, path = std::move(path), type = std::move(type), owned] {
    // Children queued before the deadline must not cost a libmagic call after it.
    if (ReportIfExpired(upload, path)) return;
    Process(upload,
            ScanObject{path, type.mime.empty() ? Identify(upload, *owned) : type, *owned, depth, {}, LayerKind::kFile},
            words);
  });
}

void Pipeline::Process(Upload& upload, ScanObject object, Words words) const {
  if (ReportIfExpired(upload, object.path)) return;
  const Unpacker* unpacker = FindUnpacker(object);
  size_t unpacker_slot = unpack_slots_;
  if (unpacker != nullptr) {
    object.unpacked_by = unpacker->Name();
    unpacker_slot += static_cast<size_t>(std::find_if(unpackers_.begin(), unpackers_.end(),
                                                      [&](const auto& u) { return u.get() == unpacker; }) -
                                         unpackers_.begin());
  }
  object.prose = IsProse(object, words, unpacker != nullptr && unpacker->WordsAreInChildren());
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
  ContentBatcher content(*this, upload, object.path, object.depth);
  LimitedChildSink sink(
      object, limits_, upload.budget, upload.deadline, upload.findings,
      [this, &upload, &content, child_depth](ObjectPath path, std::vector<uint8_t> bytes, const ChildTraits& traits) {
        // The one place that decides which stages a layer gets (see LayerKind).
        if (traits.kind != LayerKind::kFile && !StartsLikeAFile(bytes)) {
          const bool prose =
              IsProse(ScanObject{path, traits.type, {}, child_depth, {}, traits.kind}, traits.words, false);
          content.Add(std::move(path), std::move(bytes), traits.kind, traits.type, prose);
        } else {
          // A stream that starts like a file is judged as one: what its unpacker said was about a stream.
          const Words words = traits.kind == LayerKind::kFile ? traits.words : Words::kByType;
          ProcessChild(upload, std::move(path), std::move(bytes), traits.type, words, child_depth);
        }
      },
      passwords_);
  upload.Enter(object.path);  // again: a detector may have scanned layers of its own meanwhile
  Status status = [&] {
    const StageClock::Timer timer(upload.stages, unpacker_slot, object.bytes.size());
    return unpacker->Unpack(object, sink);
  }();
  content.Finish();
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
  Upload upload(stage_names_);
  upload.deadline = std::min(deadline, started + limits_.max_scan_time);
  upload.entering = entering;

  ScanReport report;
  report.name = std::string(root_name);
  report.sha256 = Sha256Hex(bytes);
  report.size = bytes.size();
  {
    const StageClock::Timer timer(upload.stages, kTypingSlot, bytes.size());
    report.type = typer_.IdentifyWithDescription(bytes);
  }
  report.rules_version = rules_.version;

  for (const auto& detector : rules_.detectors) upload.detector_states.push_back(detector->NewUploadState());
  ScanObject root{ObjectPath(report.name), report.type, bytes, 0, {}};
  if (bytes.size() > limits_.max_layer_bytes) {
    upload.findings.Add(IncompleteFinding("tollgate", "max_layer_bytes", root.path,
                                          fmt::format("{} bytes > {}", bytes.size(), limits_.max_layer_bytes)));
  } else {
    Process(upload, root, Words::kByType);
  }
  upload.tasks.wait();
  for (size_t i = 0; i < rules_.detectors.size(); ++i) {
    if (upload.detector_states[i]) rules_.detectors[i]->FinishUpload(*upload.detector_states[i], upload.findings);
  }

  {
    const StageClock::Timer timer(upload.stages, policy_slot_, 0);
    report.findings = upload.findings.Take(root.path);
    Decision decision = policy.Decide(report.findings);
    report.verdict = decision.verdict;
    report.action = decision.action;
    report.deciding = std::move(decision.deciding);
  }
  report.layers = upload.budget.layers.load();
  report.stages = upload.stages.Report();
  report.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
  return report;
}

}  // namespace tollgate
