#include "clamav_detector.h"

#include <clamav.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "clamav_mapping.h"

namespace tollgate {
namespace {

using clamav::kEngineName;

struct EngineDeleter {
  void operator()(cl_engine* engine) const { cl_engine_free(engine); }
};
using EnginePtr = std::unique_ptr<cl_engine, EngineDeleter>;

struct FmapDeleter {
  void operator()(cl_fmap_t* map) const { cl_fmap_close(map); }
};
using FmapPtr = std::unique_ptr<cl_fmap_t, FmapDeleter>;

constexpr std::array<std::string_view, 25> kDatabaseExtensions = {
    ".cvd", ".cld", ".cud", ".hdb",  ".hsb", ".hdu", ".hsu", ".mdb", ".msb", ".ndb", ".ndu", ".ldb", ".ldu",
    ".fp",  ".sfp", ".ign", ".ign2", ".cdb", ".idb", ".ftm", ".pdb", ".wdb", ".gdb", ".crb", ".cat"};

// libclamav gives no type for a layer it recursed into without announcing it: an unnamed one
// becomes "[?]".
constexpr std::string_view kUnannouncedType = "?";

Status StatusForException() {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("out of memory in the ClamAV detector");
  } catch (const std::exception& error) {
    return Internal(std::string("ClamAV detector: ") + error.what());
  } catch (...) {
    return Internal("ClamAV detector: unknown exception");
  }
}

Status InitLibclamav() {
  static std::once_flag once;
  static cl_error_t result = CL_SUCCESS;
  std::call_once(once, [] { result = cl_init(CL_INIT_DEFAULT); });
  if (result != CL_SUCCESS) return Internal(std::string("cl_init failed: ") + cl_strerror(result));
  return Status::Ok();
}

bool HasDatabaseExtension(const std::string& file) {
  std::string extension = std::filesystem::path(file).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(kDatabaseExtensions.begin(), kDatabaseExtensions.end(), extension) !=
         kDatabaseExtensions.end();
}

std::string AcceptedExtensions() {
  std::string text;
  for (std::string_view extension : kDatabaseExtensions) {
    if (!text.empty()) text += ' ';
    text += extension;
  }
  return text;
}

Status LoadDatabase(const std::string& file, cl_engine& engine, unsigned int& signatures) {
  if (!HasDatabaseExtension(file)) {
    return InvalidArgument(file + ": not a ClamAV database; accepted extensions: " + AcceptedExtensions());
  }
  std::error_code error;
  if (!std::filesystem::exists(file, error)) return NotFound(file + ": no such ClamAV database");
  if (!std::filesystem::is_regular_file(file, error)) return InvalidArgument(file + ": not a regular file");
  const cl_error_t loaded = cl_load(file.c_str(), &engine, &signatures, CL_DB_STDOPT);
  if (loaded != CL_SUCCESS) return InvalidArgument(file + ": " + cl_strerror(loaded));
  return Status::Ok();
}

// One level of libclamav's recursion, as far as the callbacks have seen it.
struct Layer {
  std::string reported_name;  // libclamav's own name for it ("" for none): how `ancestors` names it
  size_t size = 0;            // 0 when unknown
  std::optional<int> fd;      // unknown for layers libclamav did not announce
  ObjectPath path;
};

// Everything one Scan's callbacks need. It travels as cl_scanmap_callback's `context`, so
// concurrent scans on the shared engine never share state.
class ScanState {
 public:
  // A probing scan only finds out whether anything happens: the first layer libclamav would extract
  // ends it (nothing is handed on), and matches go to `out` like any other.
  enum class Mode { kScan, kProbe };

  ScanState(const ScanObject& object, const ScanContext& ctx, FindingSink& out, Mode mode = Mode::kScan)
      : object_(object), ctx_(ctx), out_(out), mode_(mode) {
    layers_.push_back(Layer{std::string(object.path.leaf()), object.bytes.size(), std::nullopt, object.path});
  }

  cl_error_t OnFileInspection(int fd, const char* type, const char** ancestors, size_t parent_size,
                              const char* file_name, size_t file_size, const char* file_buffer,
                              uint32_t recursion_level) {
    // CL_BREAK skips one layer; returning it for every further layer winds the whole scan down.
    if (!error_.ok()) return CL_BREAK;
    if (ctx_.Expired()) {
      deadline_passed_ = true;
      return CL_BREAK;
    }
    try {
      if (recursion_level == 0) {  // the object itself, which the pipeline already scans
        layers_.front().fd = fd;
        return CL_CLEAN;
      }
      if (mode_ == Mode::kProbe) {
        found_layer_ = true;
        return CL_BREAK;
      }
      if (file_buffer == nullptr && file_size > 0) {
        error_ = Internal("libclamav gave no bytes for a layer of " + object_.path.ToString());
        return CL_BREAK;
      }
      AlignAncestors(ancestors, recursion_level, parent_size);
      const Layer& layer = layers_.emplace_back(
          Layer{file_name == nullptr ? "" : file_name, file_size, fd,
                layers_.back().path.Child(clamav::LayerName(file_name, type == nullptr ? "" : type))});
      const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(file_buffer), file_size);
      // A layer the scan limits refuse is skipped here too (CL_BREAK): libclamav stops where
      // Tollgate's unpackers stop.
      if (FirstVisit(layer.path, bytes) && !ctx_.VisitNestedLayer(ScanObject{.path = layer.path,
                                                                             .type = {},
                                                                             .bytes = bytes,
                                                                             .depth = object_.depth + recursion_level,
                                                                             .unpacked_by = {}})) {
        return CL_BREAK;
      }
    } catch (...) {
      error_ = StatusForException();
      return CL_BREAK;
    }
    return CL_CLEAN;
  }

  void OnVirusFound(int fd, const char* virus_name) {
    if (virus_name == nullptr) return;
    try {
      std::string object = LayerOfMatch(fd).path.ToString();
      if (reported_.emplace(virus_name, object).second) {
        out_.Add(clamav::FindingForVirusName(virus_name, std::move(object)));
      }
    } catch (...) {
      if (error_.ok()) error_ = StatusForException();
    }
  }

  // Whether a probing scan came upon a layer it would have extracted.
  bool found_layer() const { return found_layer_; }

  // What went wrong in the callbacks, if anything; OK otherwise.
  Status CallbackStatus() const {
    if (!error_.ok()) return error_;
    if (deadline_passed_) {
      return DeadlineExceeded("scan deadline passed while libclamav unpacked " + object_.path.ToString());
    }
    return Status::Ok();
  }

 private:
  // Makes layers_[1 .. level-1] the ancestors libclamav reports for a new layer at `level`. Entries
  // above them belong to layers that finished. libclamav also recurses into layers it never
  // announces (with 1.4: a PE or ZIP found at an offset inside its parent); those differ from our
  // entry by name or, for the direct parent, by size, and get a placeholder name.
  void AlignAncestors(const char** ancestors, uint32_t level, size_t parent_size) {
    layers_.resize(std::min<size_t>(layers_.size(), level));
    for (uint32_t i = 1; i < level; ++i) {
      const char* name = ancestors == nullptr ? nullptr : ancestors[i];
      const std::string_view reported = name == nullptr ? "" : name;
      const bool is_parent = i + 1 == level;
      if (i < layers_.size() && layers_[i].reported_name == reported &&
          (!is_parent || layers_[i].size == parent_size)) {
        continue;
      }
      layers_.resize(i);
      ObjectPath path = layers_.back().path.Child(clamav::LayerName(name, kUnannouncedType));
      layers_.push_back(
          Layer{std::string(reported), is_parent ? parent_size : 0, std::nullopt, std::move(path)});
    }
  }

  // libclamav sometimes announces the same layer several times in one scan (it walks an OLE2
  // storage's subdirectories once per ancestor directory); the other detectors need to see it once.
  // The same bytes under another path are a layer of their own (libclamav may report matches there).
  bool FirstVisit(const ObjectPath& path, std::span<const uint8_t> bytes) {
    std::array<unsigned char, 32> digest{};
    unsigned int digest_size = digest.size();
    static constexpr uint8_t kNoBytes = 0;
    if (cl_hash_data("sha256", bytes.empty() ? &kNoBytes : bytes.data(), bytes.size(), digest.data(),
                     &digest_size) == nullptr) {
      return true;
    }
    return visited_.emplace(path.ToString(), digest).second;
  }

  // libclamav names the layer a match came from only by its file descriptor, which in-memory layers
  // (the object itself, layers found at an offset inside their parent) lack or share with their
  // parent. So a match goes to the most recently announced layer with that descriptor, else to the
  // most recently announced layer. The descriptor matters: a container's own matches are reported
  // after its members' (e.g. a ZIP whose stored member matches both in and outside the ZIP).
  const Layer& LayerOfMatch(int fd) const {
    for (auto layer = layers_.rbegin(); layer != layers_.rend(); ++layer) {
      if (layer->fd == fd) return *layer;
    }
    return layers_.back();
  }

  const ScanObject& object_;
  const ScanContext& ctx_;
  FindingSink& out_;
  Mode mode_;
  bool found_layer_ = false;
  std::vector<Layer> layers_;  // indexed by recursion level; [0] is the object itself
  std::set<std::pair<std::string, std::string>> reported_;                   // (rule, object) already added
  std::set<std::pair<std::string, std::array<unsigned char, 32>>> visited_;  // (path, SHA-256) handed on
  bool deadline_passed_ = false;
  Status error_;
};

cl_error_t OnFileInspection(int fd, const char* type, const char** ancestors, size_t parent_file_size,
                            const char* file_name, size_t file_size, const char* file_buffer,
                            uint32_t recursion_level, uint32_t /*layer_attributes*/, void* context) {
  return static_cast<ScanState*>(context)->OnFileInspection(fd, type, ancestors, parent_file_size, file_name,
                                                            file_size, file_buffer, recursion_level);
}

void OnVirusFound(int fd, const char* virus_name, void* context) {
  static_cast<ScanState*>(context)->OnVirusFound(fd, virus_name);
}

class ClamavDetector final : public Detector {
 public:
  ClamavDetector(EnginePtr engine, size_t rule_count) : engine_(std::move(engine)), rule_count_(rule_count) {}

  std::string_view Name() const override { return kEngineName; }
  size_t RuleCount() const override { return rule_count_; }

  Status Scan(const ScanObject& object, const ScanContext& ctx, FindingSink& out) const override {
    try {
      ScanState state(object, ctx, out);
      return Run(object, state);
    } catch (...) {
      return StatusForException();
    }
  }

  // The streams joined take one libclamav call, which almost always finds nothing: then that was
  // all. Anything else (a match, a layer libclamav would extract, an error) and each stream is
  // scanned on its own, so every finding names its stream, and layers libclamav extracts get their
  // exact paths; a signature that matched only the streams together names the container. Both
  // scans use ContentScanOptions.
  // Signatures bound to a whole file (hashes, offsets from its start) apply to the streams joined,
  // not to each: content streams get body signatures (see LayerKind).
  bool ScansContent(LayerKind) const override { return true; }
  Status ScanContent(const ContentBatch& batch, const ScanContext& ctx, FindingSink& out) const override {
    try {
      const ScanObject joined{batch.container, {}, batch.bytes, batch.container_depth + 1, {}, batch.kind};
      CollectedFindings probe_findings;
      ScanState probe(joined, ctx, probe_findings, ScanState::Mode::kProbe);
      const Status probed = Run(joined, probe);
      if (probed.ok() && !probe.found_layer() && probe_findings.findings.empty()) return Status::Ok();
      if (probed.code() == StatusCode::kDeadlineExceeded) return probed;

      CollectedFindings stream_findings;
      for (const ScanObject& stream : batch.streams) {
        ScanState state(stream, ctx, stream_findings);
        TOLLGATE_RETURN_IF_ERROR(Run(stream, state));
      }
      std::set<std::string> rules_in_streams;
      for (Finding& finding : stream_findings.findings) {
        rules_in_streams.insert(finding.rule);
        out.Add(std::move(finding));
      }
      for (Finding& finding : probe_findings.findings) {
        if (rules_in_streams.contains(finding.rule)) continue;
        finding.object = batch.container.ToString();
        finding.detail = "matched the container's content streams together, not one of them";
        out.Add(std::move(finding));
      }
      return Status::Ok();
    } catch (...) {
      return StatusForException();
    }
  }

 private:
  // Findings kept back until the scan knows what to do with them.
  class CollectedFindings final : public FindingSink {
   public:
    void Add(Finding finding) override { findings.push_back(std::move(finding)); }
    std::vector<Finding> findings;
  };

  Status Run(const ScanObject& object, ScanState& state) const {
    FmapPtr map(cl_fmap_open_memory(object.bytes.data(), object.bytes.size()));
    if (map == nullptr) return ResourceExhausted("cl_fmap_open_memory failed for " + object.path.ToString());
    cl_scan_options options =
        object.kind == LayerKind::kFile ? clamav::ScanOptionsFor(object.unpacked_by) : clamav::ContentScanOptions();
    const std::string file_name(object.path.leaf());
    const char* virus_name = nullptr;
    unsigned long scanned = 0;
    const cl_error_t result =
        cl_scanmap_callback(map.get(), file_name.c_str(), &virus_name, &scanned, engine_.get(), &options, &state);
    TOLLGATE_RETURN_IF_ERROR(state.CallbackStatus());
    return clamav::StatusForScanResult(result, object.path.ToString());
  }

  EnginePtr engine_;
  size_t rule_count_;
};

Status ConfigureEngine(cl_engine& engine, const ScanLimits& limits) {
  // libclamav caches the hashes of clean files and then skips them with all their layers: a repeated
  // upload would never reach the other detectors' scans of its layers (observed with clam.7z).
  cl_error_t result = cl_engine_set_num(&engine, CL_ENGINE_DISABLE_CACHE, 1);
  if (result != CL_SUCCESS) {
    return Internal(std::string("disabling the libclamav cache: ") + cl_strerror(result));
  }
  // Milliseconds; libclamav reads 0 as "no limit", which a time budget never means.
  const long long scan_time_ms = std::clamp<long long>(limits.max_scan_time.count(), 1, UINT32_MAX);
  result = cl_engine_set_num(&engine, CL_ENGINE_MAX_SCANTIME, scan_time_ms);
  if (result != CL_SUCCESS) {
    return Internal(std::string("setting the libclamav scan time: ") + cl_strerror(result));
  }
  // Size, file-count and recursion limits stay at libclamav's defaults: some parser CVEs need
  // larger ones.
  cl_engine_set_clcb_file_inspection(&engine, OnFileInspection);
  cl_engine_set_clcb_virus_found(&engine, OnVirusFound);
  return Status::Ok();
}

StatusOr<std::unique_ptr<Detector>> CreateClamavDetector(const DetectorConfig& config) {
  try {
    TOLLGATE_RETURN_IF_ERROR(InitLibclamav());
    EnginePtr engine(cl_engine_new());
    if (engine == nullptr) return ResourceExhausted("cl_engine_new failed");
    unsigned int signatures = 0;
    for (const std::string& file : config.files) {
      TOLLGATE_RETURN_IF_ERROR(LoadDatabase(file, *engine, signatures));
    }
    TOLLGATE_RETURN_IF_ERROR(ConfigureEngine(*engine, config.limits));
    // libclamav 1.4 compiles an engine without signatures (checked), so no database files still
    // give the unpacking that feeds the other detectors.
    const cl_error_t compiled = cl_engine_compile(engine.get());
    if (compiled != CL_SUCCESS) {
      return Internal(std::string("cl_engine_compile failed: ") + cl_strerror(compiled));
    }
    return std::unique_ptr<Detector>(std::make_unique<ClamavDetector>(std::move(engine), signatures));
  } catch (...) {
    return StatusForException();
  }
}

}  // namespace

DetectorFactory MakeDetectorFactory_clamav() { return DetectorFactory{kEngineName, CreateClamavDetector}; }

}  // namespace tollgate
