// Each engine alone (the other two given no rules) finds EICAR buried in nested containers and
// names the exact layer it sits in.
#include <gtest/gtest.h>

#include "test_support.h"

namespace tollgate::testing {
namespace {

struct EngineCase {
  std::string engine;
  std::string rule;
};

class EngineAloneTest : public ::testing::TestWithParam<EngineCase> {
 protected:
  void SetUp() override {
    MakeSingleEngineBundle(bundle_.path(), GetParam().engine);
    ScannerOptions options;
    options.rules_dir = bundle_.path().string();
    scanner_ = MakeScanner(options);
    ASSERT_NE(scanner_, nullptr);
  }

  // Every finding of the scan as "engine rule object".
  std::vector<std::string> Findings(const std::string& sample) {
    auto report = scanner_->ScanFile((kCorpus / sample).string());
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    if (!report.ok()) return {};
    std::vector<std::string> findings;
    for (const Finding& f : report->findings) findings.push_back(f.engine + " " + f.rule + " " + f.object);
    last_verdict_ = report->verdict;
    return findings;
  }

  std::string Expected(const std::string& object) { return GetParam().engine + " " + GetParam().rule + " " + object; }

  TempDir bundle_;
  std::unique_ptr<Scanner> scanner_;
  Verdict last_verdict_ = Verdict::kClean;
};

TEST_P(EngineAloneTest, FindsPlainEicarAtTheRoot) {
  EXPECT_EQ(Findings("malicious/eicar.com"), std::vector<std::string>{Expected("eicar.com")});
  EXPECT_EQ(last_verdict_, Verdict::kMalicious);
}

TEST_P(EngineAloneTest, FindsEicarInsideANestedArchiveWithItsPath) {
  EXPECT_EQ(Findings("malicious/nested.zip"), std::vector<std::string>{Expected("nested.zip>docs/inner.zip>eicar.com")});
  EXPECT_EQ(last_verdict_, Verdict::kMalicious);
}

TEST_P(EngineAloneTest, FindsEicarThreeArchivesDeep) {
  EXPECT_EQ(Findings("malicious/triple_nested.zip"),
            std::vector<std::string>{Expected("triple_nested.zip>level1.zip>level2.zip>eicar.com")});
}

TEST_P(EngineAloneTest, FindsEicarInADocxMediaPart) {
  EXPECT_EQ(Findings("malicious/eicar_media.docx"),
            std::vector<std::string>{Expected("eicar_media.docx>word/media/image1.bin")});
}

TEST_P(EngineAloneTest, LeavesCleanDocumentsClean) {
  for (const char* sample : {"clean/letter.txt", "clean/report.pdf", "clean/memo.docx", "clean/photos.zip"}) {
    EXPECT_EQ(Findings(sample), std::vector<std::string>{}) << sample;
    EXPECT_EQ(last_verdict_, Verdict::kClean) << sample;
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineAloneTest,
                         ::testing::Values(EngineCase{"clamav", "Tollgate.Test.EICAR.UNOFFICIAL"},
                                           EngineCase{"yara", "Tollgate_EICAR"},
                                           EngineCase{"hyperscan", "Tollgate.EICAR"}),
                         [](const auto& info) { return info.param.engine; });

TEST(EngineAlone, AnEmptyBundleIsValidAndFindsNothing) {
  TempDir bundle;
  ScannerOptions options;
  options.rules_dir = bundle.path().string();
  auto scanner = MakeScanner(options);
  ASSERT_NE(scanner, nullptr);
  auto report = scanner->ScanFile((kCorpus / "malicious/nested.zip").string());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->verdict, Verdict::kClean);
  EXPECT_TRUE(report->findings.empty());
  // nested.zip, docs/inner.zip, docs/notes.txt, and inner.zip's eicar.com and readme.txt.
  EXPECT_EQ(report->layers, 5u);
}

}  // namespace
}  // namespace tollgate::testing

namespace tollgate::testing {
namespace {

TEST(Deadline, AScanPastItsDeadlineIsIncompleteNeverClean) {
  auto scanner = MakeScanner(ScannerOptions{});
  ASSERT_NE(scanner, nullptr);
  const std::string bytes = ReadFile(kCorpus / "clean/photos.zip");
  const ScanReport report = scanner->Scan("photos.zip", std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
                                          std::chrono::steady_clock::now() - std::chrono::seconds(1));
  EXPECT_EQ(report.verdict, Verdict::kIncomplete);
  EXPECT_EQ(report.action, Action::kBlock);
  ASSERT_EQ(report.findings.size(), 1u);
  EXPECT_EQ(report.findings[0].reason, "timeout");
  EXPECT_EQ(report.findings[0].object, "photos.zip");
}

}  // namespace
}  // namespace tollgate::testing
