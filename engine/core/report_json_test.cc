#include "tollgate/report_json.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

// Every field ReportToJson writes set, so that a field one side forgets fails the round trip.
ScanReport FullReport() {
  ScanReport report;
  report.name = "invoice.zip";
  report.sha256 = std::string(64, 'a');
  report.type = {"application/zip", "Zip archive data, at least v2.0 to extract"};
  report.size = 1234;
  report.verdict = Verdict::kMalicious;
  report.action = Action::kBlock;
  Finding signature{"yara", "Rule_One", Severity::kHigh, FindingKind::kSignature, "invoice.zip>a.exe", 17, "", "why"};
  Finding incomplete = IncompleteFinding("tollgate", "encrypted", ObjectPath("invoice.zip").Child("b.docx"), "locked");
  incomplete.severity = Severity::kMedium;
  report.findings = {signature, incomplete};
  report.deciding = {0};
  report.rules_version = "2025.11.28.1+sha256:0123456789abcdef";
  report.layers = 3;
  report.duration = std::chrono::microseconds(4567);
  report.stages = {{"typing", std::chrono::microseconds(1200), 2, 300}, {"detect.yara", std::chrono::microseconds(7), 1, 20}};
  report.cached = true;
  return report;
}

TEST(ReportJson, EveryFieldSurvivesTheRoundTrip) {
  const ScanReport report = FullReport();
  auto back = ReportFromJson(ReportToJson(report, report.name));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->name, report.name);
  EXPECT_EQ(back->sha256, report.sha256);
  EXPECT_EQ(back->type.mime, report.type.mime);
  EXPECT_EQ(back->type.description, report.type.description);
  EXPECT_EQ(back->size, report.size);
  EXPECT_EQ(back->verdict, report.verdict);
  EXPECT_EQ(back->action, report.action);
  EXPECT_EQ(back->findings, report.findings);
  EXPECT_EQ(back->deciding, report.deciding);
  EXPECT_EQ(back->rules_version, report.rules_version);
  EXPECT_EQ(back->layers, report.layers);
  EXPECT_EQ(back->duration, report.duration);
  EXPECT_EQ(back->stages, report.stages);
  EXPECT_EQ(back->cached, report.cached);
}

TEST(ReportJson, RefusesWhatItWouldNotHaveWritten) {
  nlohmann::json json = ReportToJson(FullReport(), "invoice.zip");
  json["verdict"] = "fine";
  EXPECT_FALSE(ReportFromJson(json).ok());
  json = ReportToJson(FullReport(), "invoice.zip");
  json.erase("stages");
  EXPECT_FALSE(ReportFromJson(json).ok());
}

}  // namespace
}  // namespace tollgate
