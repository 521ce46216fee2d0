// The YARA detector: every rule file of the bundle compiled into one rule set, run on every layer.
//
// Findings: engine "yara", rule = rule identifier (without namespace), kind kSignature, offset of the
// rule's earliest string match (none for rules without string matches), severity from the rule's
// `severity` meta ("critical" counts as high) or else its integer `score` meta (>=75 high, >=50
// medium, >0 low, else info) or else high; detail = its `description` meta (at most 200 bytes).
// Layers are scanned with THOR's external variables set (see yara_externals.h).
#pragma once

#include <tbb/enumerable_thread_specific.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tollgate/detector.h"
#include "yara_library.h"

namespace tollgate {

// Registered through engine/detectors/detector_list; its `create` returns a yara::YaraDetector.
DetectorFactory MakeDetectorFactory_yara();

namespace yara {

class YaraDetector final : public Detector {
 public:
  // Errors as CompileRuleFiles (yara_compile.h). No files: a detector without rules.
  static StatusOr<std::unique_ptr<YaraDetector>> Create(const DetectorConfig& config);

  std::string_view Name() const override { return "yara"; }
  size_t RuleCount() const override { return rules_->num_rules; }
  // DeadlineExceeded when the scan ran past ctx.deadline() (libyara counts whole seconds, at least
  // one); Internal naming the yara error code for other failures of libyara.
  Status Scan(const ScanObject& object, const ScanContext& ctx, FindingSink& out) const override;
  // Package parts (LayerKind::kPackagePart: rules are written for Office relationship parts), not
  // other content streams: rules are written for files.
  bool ScansContent(LayerKind kind) const override { return kind == LayerKind::kPackagePart; }
  // A batch of package parts in one scan, as one block of bytes; a match names the part of its
  // earliest string match.
  Status ScanContent(const ContentBatch& batch, const ScanContext& ctx, FindingSink& out) const override;

  // Compiler warnings ("file:line: message"), e.g. strings that may slow down scanning.
  const std::vector<std::string>& compile_warnings() const { return compile_warnings_; }

 private:
  YaraDetector(LibraryRef library, RulesPtr rules, std::vector<std::string> compile_warnings);
  // This thread's scanner for rules_, created on first use.
  StatusOr<YR_SCANNER*> ThreadScanner() const;

  // Declared first so it is released last, after every handle created under it.
  LibraryRef library_;
  RulesPtr rules_;
  std::vector<std::string> compile_warnings_;
  mutable tbb::enumerable_thread_specific<ScannerPtr> scanners_;
};

}  // namespace yara
}  // namespace tollgate
