#include "metrics.h"

#include <gtest/gtest.h>

namespace tollgate::service {
namespace {

bool Has(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST(ServiceMetrics, RendersEveryFamilyWithFixedLabels) {
  ServiceMetrics metrics;
  metrics.SetRules("sha256:abc", 1.5, {{"clamav", 2}, {"yara", 5}});
  ScanReport report;
  report.verdict = Verdict::kMalicious;
  report.size = 1000;
  report.duration = std::chrono::milliseconds(30);
  report.findings = {{"yara", "Some_Rule_Name", Severity::kHigh, FindingKind::kSignature, "x", {}, "", ""},
                     {"clamav", "Other.Name", Severity::kHigh, FindingKind::kSignature, "x", {}, "", ""},
                     {"made-up", "R", Severity::kHigh, FindingKind::kSignature, "x", {}, "", ""}};
  metrics.RecordScan(report, Protocol::kGrpc);
  report.verdict = Verdict::kClean;
  report.findings.clear();
  report.duration = std::chrono::seconds(200);
  metrics.RecordScan(report, Protocol::kClamd);
  metrics.RecordRejection(Rejection::kBadToken, Protocol::kGrpc);
  metrics.RecordRejection(Rejection::kBadToken, Protocol::kGrpc);
  metrics.RecordRejection(Rejection::kBusy, Protocol::kClamd);

  auto cache = NewLocalVerdictCache(1 << 20);
  cache->hits = 7;
  cache->misses = 2;
  SandboxStats sandbox;
  sandbox.sandboxed = true;
  sandbox.ready = false;
  sandbox.workers_alive = 2;
  sandbox.zygote_restarts = 1;
  sandbox.worker_restarts = {{"killed", 4}, {"recycled", 1}};
  const std::string text = metrics.Render(3, cache.get(), sandbox);
  EXPECT_TRUE(Has(text, "# TYPE tollgate_scans_total counter")) << text;
  EXPECT_TRUE(Has(text, "tollgate_scans_total{verdict=\"malicious\"} 1"));
  EXPECT_TRUE(Has(text, "tollgate_scans_total{verdict=\"clean\"} 1"));
  EXPECT_TRUE(Has(text, "tollgate_scans_total{verdict=\"incomplete\"} 0"));
  EXPECT_TRUE(Has(text, "tollgate_scans_by_protocol_total{protocol=\"grpc\"} 1"));
  EXPECT_TRUE(Has(text, "tollgate_scans_by_protocol_total{protocol=\"clamd\"} 1"));
  EXPECT_TRUE(Has(text, "tollgate_rejected_by_protocol_total{protocol=\"grpc\"} 2"));
  EXPECT_TRUE(Has(text, "tollgate_rejected_by_protocol_total{protocol=\"clamd\"} 1"));
  EXPECT_TRUE(Has(text, "# TYPE tollgate_scan_duration_seconds histogram"));
  EXPECT_TRUE(Has(text, "tollgate_scan_duration_seconds_bucket{le=\"0.025\"} 0"));
  EXPECT_TRUE(Has(text, "tollgate_scan_duration_seconds_bucket{le=\"0.05\"} 1"));
  EXPECT_TRUE(Has(text, "tollgate_scan_duration_seconds_bucket{le=\"120\"} 1"));
  EXPECT_TRUE(Has(text, "tollgate_scan_duration_seconds_bucket{le=\"+Inf\"} 2"));
  EXPECT_TRUE(Has(text, "tollgate_scan_duration_seconds_sum 200.03"));
  EXPECT_TRUE(Has(text, "tollgate_scan_duration_seconds_count 2"));
  EXPECT_TRUE(Has(text, "tollgate_scanned_bytes_total 2000"));
  EXPECT_TRUE(Has(text, "tollgate_findings_total{engine=\"yara\"} 1"));
  EXPECT_TRUE(Has(text, "tollgate_findings_total{engine=\"clamav\"} 1"));
  EXPECT_TRUE(Has(text, "tollgate_findings_total{engine=\"other\"} 1"));
  EXPECT_TRUE(Has(text, "tollgate_findings_total{engine=\"tollgate\"} 0"));
  EXPECT_TRUE(Has(text, "tollgate_rules_info{version=\"sha256:abc\"} 1"));
  EXPECT_TRUE(Has(text, "tollgate_rules_load_seconds 1.5"));
  EXPECT_TRUE(Has(text, "tollgate_scans_in_flight 3"));
  EXPECT_TRUE(Has(text, "tollgate_rejected_total{reason=\"bad_token\"} 2"));
  EXPECT_TRUE(Has(text, "tollgate_rejected_total{reason=\"busy\"} 1"));
  EXPECT_TRUE(Has(text, "tollgate_rejected_total{reason=\"locked_out\"} 0"));
  EXPECT_TRUE(Has(text, "tollgate_verdict_cache_hits_total 7"));
  EXPECT_TRUE(Has(text, "tollgate_verdict_cache_misses_total 2"));
  EXPECT_TRUE(Has(text, "tollgate_sandbox_ready 0"));
  EXPECT_TRUE(Has(text, "tollgate_sandbox_workers_alive 2"));
  EXPECT_TRUE(Has(text, "tollgate_sandbox_restarts_total 1"));
  EXPECT_TRUE(Has(text, "tollgate_sandbox_worker_restarts_total{reason=\"killed\"} 4"));
  EXPECT_TRUE(Has(text, "tollgate_sandbox_worker_restarts_total{reason=\"recycled\"} 1"));
  EXPECT_TRUE(Has(text, "tollgate_sandbox_worker_restarts_total{reason=\"timeout\"} 0"));
  EXPECT_EQ(metrics.Render(0, nullptr).find("verdict_cache"), std::string::npos) << "no cache, no cache metrics";
  EXPECT_EQ(metrics.Render(0, nullptr).find("tollgate_sandbox"), std::string::npos) << "in process, no sandbox metrics";
  // Signature names never become labels.
  EXPECT_EQ(text.find("Some_Rule_Name"), std::string::npos);
  EXPECT_EQ(text.find("made-up"), std::string::npos);
}

}  // namespace
}  // namespace tollgate::service
