// The macro detector: VBA heuristics (vba_heuristics.h) on every layer that holds VBA source, either
// as text (Tollgate's OLE2 unpacker decompresses every module) or compressed in a module stream
// (what libclamav hands on from the documents it unpacks itself, such as RTF objects; see
// module_stream.h). It has no rules to load; its findings name the engine "tollgate".
#include "macro_detector.h"

#include <new>

#include "module_stream.h"
#include "vba_heuristics.h"

namespace tollgate {
namespace {

constexpr std::string_view kName = "macro";
constexpr size_t kHeuristicRules = 3;  // AutoExecDangerousCall, AutoExec, DangerousCall
// VBA modules are at most a few hundred KiB of source.
constexpr uint64_t kMaxModuleSource = 16 << 20;

class MacroDetector final : public Detector {
 public:
  std::string_view Name() const override { return kName; }
  size_t RuleCount() const override { return kHeuristicRules; }

  Status Scan(const ScanObject& object, const ScanContext& /*ctx*/, FindingSink& out) const override {
    try {
      macro::VbaAssessment assessment = macro::AssessVba(object.bytes);
      if (!assessment.is_vba) {
        if (auto source = macro::CompressedModuleSource(object.bytes, kMaxModuleSource)) {
          assessment = macro::AssessVba(*source);
        }
      }
      if (auto finding = macro::MacroFinding(assessment, object.path.ToString())) out.Add(std::move(*finding));
      return Status::Ok();
    } catch (const std::bad_alloc&) {
      return ResourceExhausted("out of memory in the macro detector");
    }
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
