#include "tollgate/policy.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

Finding Make(Severity severity, FindingKind kind = FindingKind::kSignature) {
  Finding f;
  f.engine = "test";
  f.rule = std::string(ToString(severity)) + std::string(ToString(kind));
  f.severity = severity;
  f.kind = kind;
  return f;
}

TEST(DefaultPolicy, NoFindingsIsCleanAndAllowed) {
  const Decision d = DefaultPolicy().Decide({});
  EXPECT_EQ(d.verdict, Verdict::kClean);
  EXPECT_EQ(d.action, Action::kAllow);
  EXPECT_TRUE(d.deciding.empty());
}

TEST(DefaultPolicy, InfoFindingsDoNotChangeTheVerdict) {
  const Decision d = DefaultPolicy().Decide({Make(Severity::kInfo)});
  EXPECT_EQ(d.verdict, Verdict::kClean);
  EXPECT_EQ(d.action, Action::kAllow);
}

TEST(DefaultPolicy, LowAndMediumAreSuspiciousAndBlocked) {
  const Decision d = DefaultPolicy().Decide({Make(Severity::kLow), Make(Severity::kInfo), Make(Severity::kMedium)});
  EXPECT_EQ(d.verdict, Verdict::kSuspicious);
  EXPECT_EQ(d.action, Action::kBlock);
  EXPECT_EQ(d.deciding, (std::vector<size_t>{0, 2}));
}

TEST(DefaultPolicy, IncompleteOutweighsSuspicious) {
  const Decision d = DefaultPolicy().Decide({Make(Severity::kMedium), Make(Severity::kHigh, FindingKind::kIncomplete)});
  EXPECT_EQ(d.verdict, Verdict::kIncomplete);
  EXPECT_EQ(d.action, Action::kBlock);
  EXPECT_EQ(d.deciding, (std::vector<size_t>{1}));
}

TEST(DefaultPolicy, HighSeverityIsMaliciousEvenWhenIncomplete) {
  const Decision d = DefaultPolicy().Decide(
      {Make(Severity::kHigh, FindingKind::kIncomplete), Make(Severity::kHigh), Make(Severity::kHigh, FindingKind::kHeuristic)});
  EXPECT_EQ(d.verdict, Verdict::kMalicious);
  EXPECT_EQ(d.deciding, (std::vector<size_t>{1, 2}));
}

}  // namespace
}  // namespace tollgate

namespace tollgate {
namespace {

Finding Named(std::string engine, std::string rule, Severity severity, FindingKind kind = FindingKind::kHeuristic,
              std::string reason = "") {
  Finding f;
  f.engine = std::move(engine);
  f.rule = std::move(rule);
  f.severity = severity;
  f.kind = kind;
  f.reason = std::move(reason);
  return f;
}

std::unique_ptr<Policy> Parse(std::string_view text) {
  auto policy = ParsePolicy(text, "test.toml");
  EXPECT_TRUE(policy.ok()) << policy.status().ToString();
  return policy.ok() ? std::move(*policy) : nullptr;
}

TEST(PolicyFile, TheShippedFileIsTheDefault) {
  auto shipped = LoadPolicyFile(TOLLGATE_SOURCE_DIR "/rules/policies/documents.toml");
  ASSERT_TRUE(shipped.ok()) << shipped.status().ToString();
  EXPECT_EQ((*shipped)->name(), "documents");
  EXPECT_EQ(DefaultPolicy().name(), "documents");
}

TEST(PolicyFile, OverridesMatchByEngineRuleGlobAndCategoryFirstMatchWins) {
  auto policy = Parse(R"(
name = "lenient"
[[override]]
engine = "tollgate"
rule = "Tollgate.Type.*"
category = "heuristic"
verdict = "clean"
[[override]]
rule = "*"
severity = "low"
verdict = "malicious"
)");
  ASSERT_NE(policy, nullptr);
  const Decision quiet = policy->Decide({Named("tollgate", "Tollgate.Type.ExtensionMismatch", Severity::kLow)});
  EXPECT_EQ(quiet.verdict, Verdict::kClean);
  EXPECT_EQ(quiet.action, Action::kAllow);
  const Decision loud = policy->Decide({Named("yara", "Some_Rule", Severity::kLow, FindingKind::kSignature)});
  EXPECT_EQ(loud.verdict, Verdict::kMalicious);
  EXPECT_EQ(loud.deciding, std::vector<size_t>{0});
}

TEST(PolicyFile, IncompleteCanBeAllowedPerReason) {
  auto policy = Parse("name = \"p\"\n[incomplete]\nencrypted = \"allow\"\n");
  ASSERT_NE(policy, nullptr);
  const Finding encrypted = Named("tollgate", "Tollgate.Incomplete.encrypted", Severity::kHigh, FindingKind::kIncomplete, "encrypted");
  const Finding too_deep = Named("tollgate", "Tollgate.Incomplete.max_depth", Severity::kHigh, FindingKind::kIncomplete, "max_depth");
  const Decision allowed = policy->Decide({encrypted});
  EXPECT_EQ(allowed.verdict, Verdict::kIncomplete);
  EXPECT_EQ(allowed.action, Action::kAllow);
  EXPECT_EQ(policy->Decide({encrypted, too_deep}).action, Action::kBlock) << "one reason not allowed blocks";
}

TEST(PolicyFile, SeverityAndActionTablesChangeTheMapping) {
  auto policy = Parse("name = \"p\"\n[severity]\nlow = \"clean\"\n[action]\nsuspicious = \"allow\"\n");
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->Decide({Named("yara", "r", Severity::kLow)}).verdict, Verdict::kClean);
  const Decision medium = policy->Decide({Named("yara", "r", Severity::kMedium)});
  EXPECT_EQ(medium.verdict, Verdict::kSuspicious);
  EXPECT_EQ(medium.action, Action::kAllow);
}

TEST(PolicyFile, ErrorsNameTheKey) {
  const auto expect_error = [](std::string_view text, std::string_view message) {
    auto policy = ParsePolicy(text, "p.toml");
    ASSERT_FALSE(policy.ok());
    EXPECT_EQ(policy.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(policy.status().message().find(message), std::string::npos) << policy.status().message();
  };
  expect_error("[severity]\nhigh = \"malicious\"\n", "p.toml: name: missing");
  expect_error("name = \"p\"\nverdicts = 1\n", "p.toml: verdicts: unknown key");
  expect_error("name = \"p\"\n[severity]\nhigh = \"evil\"\n", "severity.high: expected one of clean|suspicious|malicious|incomplete");
  expect_error("name = \"p\"\n[action]\nclean = \"maybe\"\n", "action.clean: expected one of allow|block");
  expect_error("name = \"p\"\n[[override]]\nrule = \"x\"\n", "override[0].verdict: missing");
  expect_error("name = \"p\"\n[[override]]\nverdict = \"clean\"\nkind = \"x\"\n", "override[0].kind: unknown key");
  expect_error("name = = \"p\"\n", "p.toml:1:");
  EXPECT_EQ(LoadPolicyFile("/no/such/policy.toml").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tollgate
