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
