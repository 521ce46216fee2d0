// The macro detector as the pipeline uses it: its factory, and documents followed through the real
// OOXML and OLE2 unpackers (or libclamav's own extraction) down to the module that holds the macro.
#include "macro_detector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <tuple>

#include "clamav_detector.h"
#include "ole2_unpacker.h"
#include "ooxml_unpacker.h"
#include "recording_child_sink.h"

namespace tollgate::testing {
namespace {

const std::filesystem::path kCorpus = TOLLGATE_CORPUS_DIR;

class CollectingSink final : public FindingSink {
 public:
  void Add(Finding finding) override {
    std::lock_guard lock(mutex_);
    findings.push_back(std::move(finding));
  }
  std::vector<Finding> findings;

 private:
  std::mutex mutex_;
};

std::unique_ptr<Detector> MakeDetector(const DetectorFactory& factory) {
  auto detector = factory.create(DetectorConfig{});
  EXPECT_TRUE(detector.ok()) << detector.status().ToString();
  return detector.ok() ? std::move(*detector) : nullptr;
}

std::vector<uint8_t> ReadBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// "rule severity object" for each finding, sorted.
std::vector<std::string> Summaries(const std::vector<Finding>& findings) {
  std::vector<std::string> summaries;
  for (const Finding& f : findings)
    summaries.push_back(f.rule + " " + std::string(ToString(f.severity)) + " " + f.object);
  std::sort(summaries.begin(), summaries.end());
  return summaries;
}

// The detail of the macro detector's finding (engine "tollgate", rule Tollgate.VBA.*); "" for none.
std::string MacroDetail(const std::vector<Finding>& findings) {
  const auto macro = std::find_if(findings.begin(), findings.end(), [](const Finding& f) {
    return f.engine == "tollgate" && f.rule.starts_with("Tollgate.VBA.");
  });
  return macro == findings.end() ? "" : macro->detail;
}

// Follows an upload through Tollgate's own unpackers the way the pipeline does (OOXML packages and
// compound files, recognised by their signatures here instead of libmagic) and runs the macro
// detector on every file-like layer, with the type its unpacker gave it (content streams are not
// its business). Returns the unpackers' and the detector's findings.
class MiniPipeline {
 public:
  // Sorted and without repeats, as the pipeline reports them.
  std::vector<Finding> Scan(const std::string& name, const std::vector<uint8_t>& bytes) {
    CollectingSink out;
    const std::unique_ptr<UploadState> state = detector_->NewUploadState();
    Visit(ObjectPath(name), {}, bytes, state.get(), out);
    detector_->FinishUpload(*state, out);
    auto key = [](const Finding& f) { return std::tie(f.object, f.engine, f.rule, f.detail); };
    std::sort(out.findings.begin(), out.findings.end(),
              [&](const Finding& a, const Finding& b) { return key(a) < key(b); });
    out.findings.erase(std::unique(out.findings.begin(), out.findings.end()), out.findings.end());
    return std::move(out.findings);
  }

 private:
  void Visit(const ObjectPath& path, const FileType& type, const std::vector<uint8_t>& bytes, UploadState* state,
             CollectingSink& out) {
    const ScanObject object{path, type, bytes, static_cast<uint32_t>(path.depth()), {}};
    ASSERT_TRUE(detector_->Scan(object, ScanContext(ScanContext::Clock::time_point::max(), nullptr, state), out).ok());
    const std::string_view start(reinterpret_cast<const char*>(bytes.data()), std::min<size_t>(bytes.size(), 4));
    const Unpacker* unpacker = start == "PK\x03\x04"         ? ooxml_.get()
                               : start == "\xD0\xCF\x11\xE0" ? ole2_.get()
                                                             : nullptr;
    if (unpacker == nullptr) return;
    RecordingChildSink children{path};
    ASSERT_TRUE(unpacker->Unpack(object, children).ok());
    for (Finding& finding : children.findings) out.Add(std::move(finding));
    for (const auto& child : children.children) {
      if (child.traits.kind == LayerKind::kFile) Visit(path.Child(child.name), child.traits.type, child.bytes, state, out);
    }
  }

  std::unique_ptr<Detector> detector_ = MakeDetector(MakeDetectorFactory_macro());
  std::unique_ptr<Unpacker> ooxml_ = MakeUnpacker_ooxml();
  std::unique_ptr<Unpacker> ole2_ = MakeUnpacker_ole2();
};

TEST(MacroDetector, NeedsNoRulesAndRefusesRuleFiles) {
  const DetectorFactory factory = MakeDetectorFactory_macro();
  EXPECT_EQ(factory.name, "macro");
  auto detector = MakeDetector(factory);
  ASSERT_NE(detector, nullptr);
  EXPECT_EQ(detector->Name(), "macro");
  EXPECT_EQ(detector->RuleCount(), 3u);
  auto refused = factory.create(DetectorConfig{{"rules/macro/extra.txt"}, {}, {}});
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(), "the macro detector takes no rule files, but was given rules/macro/extra.txt");
}

TEST(MacroDetector, DocmMacroIsFoundInItsModuleThroughBothUnpackers) {
  const std::vector<Finding> findings =
      MiniPipeline().Scan("invoice.docm", ReadBytes(kCorpus / "threats/office/invoice.docm"));
  EXPECT_EQ(Summaries(findings),
            (std::vector<std::string>{
                "Tollgate.OOXML.VBAProject medium invoice.docm>word/vbaProject.bin",
                "Tollgate.VBA.AutoExecDangerousCall high invoice.docm>word/vbaProject.bin>VBA/Module1"}));
  EXPECT_EQ(MacroDetail(findings), "auto-exec macro AutoOpen, Document_Open with CreateObject, WScript.Shell, Run");
}

TEST(MacroDetector, WorkbookAndLegacyDocumentMacrosAreFoundInTheirModules) {
  EXPECT_EQ(Summaries(MiniPipeline().Scan("report.xlsm", ReadBytes(kCorpus / "threats/office/report.xlsm"))),
            (std::vector<std::string>{
                "Tollgate.OOXML.VBAProject medium report.xlsm>xl/vbaProject.bin",
                "Tollgate.VBA.AutoExecDangerousCall high report.xlsm>xl/vbaProject.bin>VBA/ThisWorkbook"}));
  EXPECT_EQ(
      Summaries(MiniPipeline().Scan("legacy_macro.doc", ReadBytes(kCorpus / "threats/office/legacy_macro.doc"))),
      (std::vector<std::string>{"Tollgate.OLE2.VBAProject medium legacy_macro.doc",
                                "Tollgate.VBA.AutoExecDangerousCall high legacy_macro.doc>Macros/VBA/NewMacros"}));
}

TEST(MacroDetector, EntryPointAndDangerousCallInDifferentModulesAreOneHighFinding) {
  const std::vector<Finding> findings =
      MiniPipeline().Scan("split_macro.docm", ReadBytes(kCorpus / "threats/office/split_macro.docm"));
  EXPECT_EQ(Summaries(findings),
            (std::vector<std::string>{
                "Tollgate.OOXML.VBAProject medium split_macro.docm>word/vbaProject.bin",
                "Tollgate.VBA.AutoExecDangerousCall high split_macro.docm>word/vbaProject.bin>VBA/Tools"}));
  EXPECT_EQ(MacroDetail(findings),
            "auto-exec macro Document_Open with Shell (entry point in VBA/ThisDocument, call in VBA/Tools)");
}

TEST(MacroDetector, ALoneLayerOutsideAnUploadIsJudgedByItself) {
  auto detector = MakeDetector(MakeDetectorFactory_macro());
  ASSERT_NE(detector, nullptr);
  const std::string source = "Attribute VB_Name = \"Tools\"\r\nSub Prepare()\r\n  Shell \"calc\"\r\nEnd Sub\r\n";
  const std::vector<uint8_t> bytes(source.begin(), source.end());
  CollectingSink out;
  ASSERT_TRUE(detector
                  ->Scan(ScanObject{ObjectPath("Tools.bas"), {"text/plain", ""}, bytes, 0, {}},
                         ScanContext(ScanContext::Clock::time_point::max(), nullptr), out)
                  .ok());
  EXPECT_EQ(Summaries(out.findings), std::vector<std::string>{"Tollgate.VBA.DangerousCall medium Tools.bas"});
}

TEST(MacroDetector, BenignDocumentsHaveNoMacroFinding) {
  for (const char* sample : {"threats/office/benign_hyperlink.docx", "threats/office/benign_hyperlink.xlsx",
                             "threats/office/benign_hyperlink.pptx", "benign/letter.doc", "benign/letter.docx",
                             "benign/budget.xls", "benign/slides.ppt", "benign/letter.rtf"}) {
    EXPECT_EQ(Summaries(MiniPipeline().Scan("sample", ReadBytes(kCorpus / sample))), std::vector<std::string>{})
        << sample;
  }
}

// RTF is libclamav's: it decodes the \objdata object and parses the Word document inside. Its VBA
// text never leaves libclamav, but the module streams do, through ScanContext::VisitNestedLayer.
TEST(MacroDetector, FlagsMacrosLibclamavExtractsFromAnRtfObject) {
  auto clamav = MakeDetector(MakeDetectorFactory_clamav());
  auto macro = MakeDetector(MakeDetectorFactory_macro());
  ASSERT_TRUE(clamav && macro);
  CollectingSink out;
  const ScanContext ctx(ScanContext::Clock::time_point::max(), [&](const ScanObject& layer) {
    EXPECT_TRUE(macro->Scan(layer, ScanContext(ScanContext::Clock::time_point::max(), nullptr), out).ok());
    return true;
  });
  const std::vector<uint8_t> rtf = ReadBytes(kCorpus / "threats/office/macro_object.rtf");
  ASSERT_TRUE(clamav->Scan(ScanObject{ObjectPath("macro_object.rtf"), {}, rtf, 0, {}}, ctx, out).ok());
  ASSERT_EQ(out.findings.size(), 1u) << ::testing::PrintToString(Summaries(out.findings));
  // libclamav names the module stream after a hash of its name.
  EXPECT_EQ(Summaries(out.findings),
            std::vector<std::string>{"Tollgate.VBA.AutoExecDangerousCall high "
                                     "macro_object.rtf>[CL_TYPE_MSOLE2]>d8155f7c0f4ef7b7497080a79d0894a3_1"});
  EXPECT_EQ(out.findings[0].detail, "auto-exec macro AutoOpen with Shell");
}

}  // namespace
}  // namespace tollgate::testing
