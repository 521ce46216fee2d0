// The macro detector: VBA heuristics (vba_heuristics.h) on every file-like layer that holds VBA
// source, either as text (Tollgate's OLE2 unpacker decompresses every module) or compressed in a
// module stream (what libclamav hands on from the documents it unpacks itself, such as RTF objects;
// see module_stream.h). It has no rules to load; its findings name the engine "tollgate".
//
// In an upload, modules are judged by project (vba_heuristics.h ProjectFindings): each layer's
// assessment waits in the upload's state until every layer was scanned. The modules of one project
// are the VBA layers of one parent layer in one storage ("vbaProject.bin>VBA/Module1" and
// "vbaProject.bin>VBA/Module2"; a module stream and its source share a path and count once).
#include "macro_detector.h"

#include <map>
#include <mutex>
#include <new>

#include "module_stream.h"
#include "vba_heuristics.h"

namespace tollgate {
namespace {

constexpr std::string_view kName = "macro";
constexpr size_t kHeuristicRules = 3;  // AutoExecDangerousCall, AutoExec, DangerousCall
// VBA modules are at most a few hundred KiB of source.
constexpr uint64_t kMaxModuleSource = 16 << 20;

// The project a module layer belongs to: its parent layer and the storage its name starts with.
std::string ProjectKey(const ObjectPath& module) {
  const std::vector<std::string>& elements = module.elements();
  std::string key;
  for (size_t i = 0; i + 1 < elements.size(); ++i) key += elements[i] + ">";
  const std::string_view leaf = module.leaf();
  const size_t storage_end = leaf.rfind('/');
  if (storage_end != std::string_view::npos) key += leaf.substr(0, storage_end);
  return key;
}

class ProjectsSeen final : public UploadState {
 public:
  void Note(const ObjectPath& module, macro::VbaAssessment assessment) {
    std::lock_guard lock(mutex_);
    projects_[ProjectKey(module)].try_emplace(module.ToString(), std::move(assessment));
  }
  void Report(FindingSink& out) {
    std::lock_guard lock(mutex_);
    for (auto& [key, modules] : projects_) {
      std::vector<macro::ModuleAssessment> assessments;
      for (auto& [object, assessment] : modules) assessments.push_back({object, std::move(assessment)});
      for (Finding& finding : macro::ProjectFindings(std::move(assessments))) out.Add(std::move(finding));
    }
    projects_.clear();
  }

 private:
  std::mutex mutex_;
  // project key -> module object path -> assessment
  std::map<std::string, std::map<std::string, macro::VbaAssessment>> projects_;
};

class MacroDetector final : public Detector {
 public:
  std::string_view Name() const override { return kName; }
  size_t RuleCount() const override { return kHeuristicRules; }

  Status Scan(const ScanObject& object, const ScanContext& ctx, FindingSink& out) const override {
    try {
      // VBA source is text; a binary layer can only hold it compressed, in a module stream. Reading
      // every binary layer as source would cost more than the rest of this detector's work.
      macro::VbaAssessment assessment;
      // Prose that quotes a macro (an incident report) is read, never run.
      if (object.prose) return Status::Ok();
      if (object.type.mime.starts_with("text/")) {
        assessment = macro::AssessVba(object.bytes);
      } else if (auto source = macro::CompressedModuleSource(object.bytes, kMaxModuleSource)) {
        assessment = macro::AssessVba(*source);
      }
      auto finding = macro::MacroFinding(assessment, object.path.ToString());
      if (!finding) return Status::Ok();
      if (auto* projects = dynamic_cast<ProjectsSeen*>(ctx.upload_state())) {
        projects->Note(object.path, std::move(assessment));
      } else {
        out.Add(std::move(*finding));
      }
      return Status::Ok();
    } catch (const std::bad_alloc&) {
      return ResourceExhausted("out of memory in the macro detector");
    }
  }

  std::unique_ptr<UploadState> NewUploadState() const override { return std::make_unique<ProjectsSeen>(); }
  void FinishUpload(UploadState& state, FindingSink& out) const override {
    static_cast<ProjectsSeen&>(state).Report(out);
  }
};

StatusOr<std::unique_ptr<Detector>> CreateMacroDetector(const DetectorConfig& config) {
  if (!config.files.empty()) {
    return InvalidArgument("the macro detector takes no rule files, but was given " + config.files.front());
  }
  return std::unique_ptr<Detector>(std::make_unique<MacroDetector>());
}

}  // namespace

DetectorFactory MakeDetectorFactory_macro() { return DetectorFactory{kName, CreateMacroDetector}; }

}  // namespace tollgate
