// `tollgate audit verify` and `tollgate audit report` as a reviewer runs them: exit codes, the
// located problem, the counts.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_support.h"
#include "tollgate/audit/events.h"
#include "tollgate/audit/log_writer.h"

namespace tollgate::audit {
namespace {

namespace fs = std::filesystem;
using tollgate::testing::MakeAuditKeyPair;
using tollgate::testing::ReadFile;
using tollgate::testing::RunCommand;
using tollgate::testing::TempDir;
using tollgate::testing::WriteFile;

class AuditCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = temp_.path() / "audit.key";
    public_key_ = temp_.path() / "audit.pub";
    ASSERT_TRUE(MakeAuditKeyPair(key_, public_key_));
    LogOptions options;
    options.dir = dir().string();
    options.key_file = key_.string();
    options.background = false;
    auto log = AuditLog::Open(options);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    ScanReport blocked;
    blocked.verdict = Verdict::kMalicious;
    blocked.action = Action::kBlock;
    blocked.findings.push_back({"yara", "Tollgate.Doc.Macro", Severity::kHigh, FindingKind::kSignature, "a.docm", {}, {}, {}});
    blocked.deciding = {0};
    const Caller caller{"cli", LocalUser(), "", "", ""};
    ASSERT_TRUE((*log)->Append(VerdictEvent(caller, "a.docm", blocked, "documents")).ok());
    ASSERT_TRUE((*log)->Append(VerdictEvent(caller, "b.pdf", ScanReport{}, "documents")).ok());
    ASSERT_TRUE((*log)->Append(RefusedEvent({"Scan", "ipv4:10.1.1.1:7", "", "", ""}, "bad_token", 16, "no")).ok());
    ASSERT_TRUE((*log)->Close().ok());
  }

  fs::path dir() const { return temp_.path() / "audit"; }
  std::string Tollgate(const std::string& args) const { return std::string(TOLLGATE_EXECUTABLE) + " " + args + " 2>&1"; }

  TempDir temp_;
  fs::path key_, public_key_;
};

TEST_F(AuditCliTest, VerifyReportsOkWithCounts) {
  const auto result = RunCommand(Tollgate("audit verify " + dir().string() + " --pubkey " + public_key_.string()));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  // file_start, its checkpoint, 3 events, the shutdown checkpoint.
  EXPECT_NE(result.output.find("OK: 1 files, 6 records (seq 1..6), 2 checkpoints"), std::string::npos) << result.output;

  const auto json = RunCommand(Tollgate("audit verify --json " + dir().string() + " --pubkey " + public_key_.string()));
  EXPECT_EQ(json.exit_code, 0) << json.output;
  const auto parsed = nlohmann::json::parse(json.output);
  EXPECT_EQ(parsed["ok"], true);
  EXPECT_EQ(parsed["records"], 6);
  EXPECT_EQ(parsed["unsigned_records"], 0);
}

TEST_F(AuditCliTest, VerifyLocatesTamperingWithExitCode1) {
  const fs::path file = fs::directory_iterator(dir())->path();
  std::string text = ReadFile(file);
  const size_t at = text.find("\"verdict\":\"malicious\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 21, "\"verdict\":\"clean\"    ");
  WriteFile(file, text);
  const auto result = RunCommand(Tollgate("audit verify " + dir().string() + " --pubkey " + public_key_.string()));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("BROKEN: " + file.filename().string() + " line 3 seq 3: altered"), std::string::npos)
      << result.output;
}

TEST_F(AuditCliTest, UsageErrorsExit2) {
  EXPECT_EQ(RunCommand(Tollgate("audit verify " + dir().string())).exit_code, 2);
  EXPECT_EQ(RunCommand(Tollgate("audit verify /nonexistent --pubkey " + public_key_.string())).exit_code, 2);
  // The private key is not a public key; the verifier never needs it.
  const auto wrong = RunCommand(Tollgate("audit verify " + dir().string() + " --pubkey " + key_.string()));
  EXPECT_EQ(wrong.exit_code, 2) << wrong.output;
  EXPECT_NE(wrong.output.find("not a PEM public key"), std::string::npos) << wrong.output;
  EXPECT_EQ(RunCommand(Tollgate("audit report " + dir().string() + " --since yesterday")).exit_code, 2);
  EXPECT_EQ(RunCommand(Tollgate("audit")).exit_code, 2);
}

TEST_F(AuditCliTest, ReportSummarizesForReview) {
  const auto text = RunCommand(Tollgate("audit report " + dir().string()));
  EXPECT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("Verdicts: 2 uploads, 1 allowed, 1 blocked"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("Tollgate.Doc.Macro"), std::string::npos) << text.output;

  const auto json = RunCommand(Tollgate("audit report --json " + dir().string() + " --since 2000-01-01"));
  EXPECT_EQ(json.exit_code, 0) << json.output;
  const auto summary = nlohmann::json::parse(json.output);
  EXPECT_EQ(summary["blocks_by_rule"], nlohmann::json({{"Tollgate.Doc.Macro", 1}}));
  EXPECT_EQ(summary["refused_by_reason"], nlohmann::json({{"bad_token", 1}}));
  EXPECT_EQ(summary["records"], 6);

  const auto future = RunCommand(Tollgate("audit report --json " + dir().string() + " --since 2200-01-01T00:00:00Z"));
  EXPECT_EQ(nlohmann::json::parse(future.output)["records"], 0);
}

}  // namespace
}  // namespace tollgate::audit
