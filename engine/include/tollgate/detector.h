// Detector: one detection engine (ClamAV, YARA, Hyperscan) applied to one layer at a time.
//
// A new engine is one folder in engine/detectors/ plus one line in engine/detectors/detector_list.
// A Detector is immutable after Create and shared by all threads; per-thread state (scratch,
// scanners) lives inside it in thread-local storage. Scan() reports matches to FindingSink and
// returns a non-OK Status only when the engine itself failed (the pipeline turns that into an
// `incomplete` finding). Each engine converts its C library's error codes in one place.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tollgate/limits.h"
#include "tollgate/status.h"
#include "tollgate/unpacker.h"
#include "tollgate/verdict.h"

namespace tollgate {

class FindingSink {
 public:
  virtual ~FindingSink() = default;
  virtual void Add(Finding finding) = 0;  // thread-safe
};

// What a detector keeps about one upload while its layers are scanned, for a detector that judges
// several layers together (the macro detector weighs all modules of one VBA project at once). Layers
// of one upload are scanned concurrently: an implementation locks what it shares.
class UploadState {
 public:
  virtual ~UploadState() = default;
};

// What one scan of one layer may use besides the layer itself.
class ScanContext {
 public:
  using Clock = std::chrono::steady_clock;
  // `nested` runs every *other* detector (and typing) on a layer that a detector extracted itself;
  // it is how libclamav's own recursion feeds YARA and Hyperscan. It returns false for a layer the
  // scan limits refuse (recorded as a finding): the detector skips that layer.
  using NestedLayerVisitor = std::function<bool(const ScanObject&)>;

  ScanContext(Clock::time_point deadline, NestedLayerVisitor nested, UploadState* upload_state = nullptr)
      : deadline_(deadline), nested_(std::move(nested)), upload_state_(upload_state) {}

  Clock::time_point deadline() const { return deadline_; }
  bool Expired() const { return Clock::now() >= deadline_; }
  bool VisitNestedLayer(const ScanObject& layer) const { return !nested_ || nested_(layer); }
  // The scanning detector's state for this upload (Detector::NewUploadState), or nullptr when it
  // keeps none or a lone layer is scanned outside an upload.
  UploadState* upload_state() const { return upload_state_; }

 private:
  Clock::time_point deadline_;
  NestedLayerVisitor nested_;
  UploadState* upload_state_;
};

// Content streams of one container, all of one kind (LayerKind::kContentStream or kPackagePart) and
// all prose or none (ScanObject::prose),
// handed to a detector together so that an engine whose every call has a fixed cost pays it once for
// many streams. `bytes` holds the streams back to back; each of `streams` views its own part of
// `bytes`. A batch is a few MiB at most.
struct ContentBatch {
  ObjectPath container;  // the layer the streams came from
  uint32_t container_depth = 0;
  LayerKind kind = LayerKind::kContentStream;
  bool prose = false;
  std::span<const uint8_t> bytes;
  std::vector<ScanObject> streams;
};

class Detector {
 public:
  virtual ~Detector() = default;
  virtual std::string_view Name() const = 0;  // "yara"
  // Number of signatures/rules/patterns loaded, for reports.
  virtual size_t RuleCount() const = 0;
  // Scans one file-like layer (LayerKind::kFile).
  virtual Status Scan(const ScanObject& object, const ScanContext& ctx, FindingSink& out) const = 0;
  // Whether this detector looks at content streams of `kind` (kContentStream or kPackagePart). The
  // default: no (YARA rules and type checks are written for files).
  virtual bool ScansContent(LayerKind /*kind*/) const { return false; }
  // Scans a batch of content streams of a kind it looks at, naming the stream of each finding (or
  // the container, for a match that only the streams together make).
  virtual Status ScanContent(const ContentBatch& /*batch*/, const ScanContext& /*ctx*/, FindingSink& /*out*/) const {
    return Status::Ok();
  }
  // For a detector that judges several layers together: a fresh state for each upload, handed to
  // every Scan of that upload through ScanContext::upload_state(). nullptr (the default): none.
  virtual std::unique_ptr<UploadState> NewUploadState() const { return nullptr; }
  // Called once per upload with that state, after every layer was scanned (or the deadline passed),
  // for the findings that need all of them.
  virtual void FinishUpload(UploadState& /*state*/, FindingSink& /*out*/) const {}
};

// How a detector is built from rule files. `files` are the engine's files from the rule bundle
// (rules/default/<name>/ or --rules DIR) plus the ones given on the command line, in a stable order.
struct DetectorConfig {
  std::vector<std::string> files;
  ScanLimits limits;
  // A folder where an engine whose compilation is costly may keep its compiled rules, to load them
  // instead of compiling when the same rules come again (a rules store's compiled/<version>/). An
  // engine uses a file there only when it was compiled from exactly these rules. Empty: no cache.
  std::string compiled_cache_dir;
};

struct DetectorFactory {
  std::string_view name;    // also the bundle subfolder: "clamav", "yara", "hyperscan"
  std::function<StatusOr<std::unique_ptr<Detector>>(const DetectorConfig&)> create;
};

}  // namespace tollgate
