#include "convert.h"

#include <gtest/gtest.h>

namespace tollgate::service {
namespace {

ScanReport SampleReport() {
  ScanReport report;
  report.name = "nested.zip";
  report.sha256 = "ab12";
  report.type = {"application/zip", "Zip archive data"};
  report.size = 1234;
  report.verdict = Verdict::kMalicious;
  report.action = Action::kBlock;
  report.findings = {
      {"yara", "Tollgate_EICAR", Severity::kHigh, FindingKind::kSignature, "nested.zip>eicar.com", 0, "", ""},
      {"tollgate", "Tollgate.Incomplete.encrypted", Severity::kHigh, FindingKind::kIncomplete, "nested.zip>x.zip",
       std::nullopt, "encrypted", "no password worked"},
      {"typecheck", "Tollgate.Type.Info", Severity::kInfo, FindingKind::kHeuristic, "nested.zip", 7, "", ""},
  };
  report.deciding = {0};
  report.rules_version = "sha256:1234";
  report.layers = 3;
  report.duration = std::chrono::microseconds(4567);
  report.stages = {{"unpack.zip", std::chrono::microseconds(120), 1, 1234}, {"sandbox", std::chrono::microseconds(80), 1, 1234}};
  report.cached = true;
  return report;
}

TEST(Convert, ResponseCarriesEveryField) {
  v1::ScanResponse response;
  ToProto(SampleReport(), {{"yara", 5}, {"clamav", 2}}, "documents", response);
  EXPECT_EQ(response.verdict(), v1::VERDICT_MALICIOUS);
  EXPECT_EQ(response.action(), v1::ACTION_BLOCK);
  ASSERT_EQ(response.findings_size(), 3);
  EXPECT_EQ(response.findings(0).engine(), "yara");
  EXPECT_EQ(response.findings(0).rule(), "Tollgate_EICAR");
  EXPECT_EQ(response.findings(0).severity(), v1::SEVERITY_HIGH);
  EXPECT_EQ(response.findings(0).object(), "nested.zip>eicar.com");
  EXPECT_TRUE(response.findings(0).has_offset());
  EXPECT_EQ(response.findings(0).offset(), 0u);
  EXPECT_TRUE(response.findings(0).deciding());
  EXPECT_EQ(response.findings(1).kind(), v1::FINDING_KIND_INCOMPLETE);
  EXPECT_EQ(response.findings(1).reason(), "encrypted");
  EXPECT_FALSE(response.findings(1).has_offset());
  EXPECT_FALSE(response.findings(1).deciding());
  EXPECT_EQ(response.findings(2).severity(), v1::SEVERITY_INFO);
  EXPECT_EQ(response.sha256(), "ab12");
  EXPECT_EQ(response.rules_version(), "sha256:1234");
  EXPECT_EQ(response.timings().scan_micros(), 4567u);
  EXPECT_EQ(response.filename(), "nested.zip");
  EXPECT_EQ(response.size(), 1234u);
  EXPECT_EQ(response.content_type(), "application/zip");
  EXPECT_EQ(response.layers(), 3u);
  ASSERT_EQ(response.engines_size(), 2);
  EXPECT_EQ(response.engines(1).name(), "clamav");
  EXPECT_EQ(response.engines(1).rule_count(), 2u);
  EXPECT_EQ(response.policy(), "documents");
  EXPECT_TRUE(response.cached());
  ASSERT_EQ(response.timings().stages_size(), 2);
  EXPECT_EQ(response.timings().stages(0).stage(), "unpack.zip");
  EXPECT_EQ(response.timings().stages(0).micros(), 120u);
}

TEST(Convert, RoundTripGivesTheSameReport) {
  const ScanReport report = SampleReport();
  v1::ScanResponse response;
  ToProto(report, {}, "documents", response);
  const ScanReport back = FromProto(response);
  EXPECT_EQ(back.name, report.name);
  EXPECT_EQ(back.sha256, report.sha256);
  EXPECT_EQ(back.type.mime, report.type.mime);
  EXPECT_EQ(back.type.description, report.type.description);
  EXPECT_EQ(back.size, report.size);
  EXPECT_EQ(back.verdict, report.verdict);
  EXPECT_EQ(back.action, report.action);
  EXPECT_EQ(back.findings, report.findings);
  EXPECT_EQ(back.deciding, report.deciding);
  EXPECT_EQ(back.rules_version, report.rules_version);
  EXPECT_EQ(back.layers, report.layers);
  EXPECT_EQ(back.duration, report.duration);
  EXPECT_EQ(back.stages, report.stages);
  EXPECT_EQ(back.cached, report.cached);
}

TEST(Convert, UnknownValuesFailClosed) {
  v1::ScanResponse response;
  response.set_filename("x");
  const ScanReport report = FromProto(response);  // VERDICT_UNSPECIFIED, ACTION_UNSPECIFIED
  EXPECT_EQ(report.verdict, Verdict::kIncomplete);
  EXPECT_EQ(report.action, Action::kBlock);
  ASSERT_EQ(report.deciding.size(), 1u);
  EXPECT_EQ(report.findings[report.deciding[0]].rule, "Tollgate.Incomplete.remote_response");
}

}  // namespace
}  // namespace tollgate::service
