#include "clamd_protocol.h"

#include <gtest/gtest.h>

namespace tollgate::service::clamd {
namespace {

using namespace std::string_view_literals;

Taken MustTake(std::string_view input) {
  auto taken = TakeCommand(input);
  EXPECT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_TRUE(taken.ok() && taken->has_value()) << "incomplete: " << input;
  return taken.ok() && *taken ? **taken : Taken{};
}

TEST(ClamdProtocol, TakesEachFraming) {
  Taken nul = MustTake("zPING\0zVERSION\0"sv);
  EXPECT_EQ(nul.command.framing, Framing::kNul);
  EXPECT_EQ(nul.command.verb, Verb::kPing);
  EXPECT_EQ(nul.consumed, 6u);
  Taken newline = MustTake("nINSTREAM\n\0\0\0\5hello"sv);
  EXPECT_EQ(newline.command.framing, Framing::kNewline);
  EXPECT_EQ(newline.command.verb, Verb::kInstream);
  EXPECT_EQ(newline.consumed, 10u);
  Taken legacy = MustTake("SCAN /srv/up loads/a b.pdf\r\n");
  EXPECT_EQ(legacy.command.framing, Framing::kLegacy);
  EXPECT_EQ(legacy.command.verb, Verb::kScan);
  EXPECT_EQ(legacy.command.argument, "/srv/up loads/a b.pdf");
  // A legacy command is one packet, its newline optional.
  Taken bare = MustTake("MULTISCAN /srv/uploads");
  EXPECT_EQ(bare.command.verb, Verb::kMultiScan);
  EXPECT_EQ(bare.command.argument, "/srv/uploads");
  EXPECT_EQ(bare.consumed, 22u);
}

TEST(ClamdProtocol, WaitsForTheTerminator) {
  auto partial = TakeCommand("zINSTR");
  ASSERT_TRUE(partial.ok());
  EXPECT_FALSE(partial->has_value());
  // 'n' framing ends at a newline, not at a NUL.
  partial = TakeCommand("nPING\0"sv);
  ASSERT_TRUE(partial.ok());
  EXPECT_FALSE(partial->has_value());
}

TEST(ClamdProtocol, RefusesWhatIsNoCommand) {
  for (std::string_view input : {"zFOO\0"sv, "zPING extra\0"sv, "nSCAN\n"sv, "zscan /x\0"sv, "\n"sv, "GET / HTTP/1.1\r\n"sv}) {
    auto taken = TakeCommand(input);
    ASSERT_FALSE(taken.ok()) << input;
    EXPECT_EQ(taken.status().message(), "UNKNOWN COMMAND");
  }
  const std::string endless(kMaxCommandBytes, 'A');
  EXPECT_FALSE(TakeCommand(endless).ok());
}

TEST(ClamdProtocol, FramesReplies) {
  EXPECT_EQ(Frame("PONG", Framing::kNul), "PONG\0"sv);
  EXPECT_EQ(Frame("PONG", Framing::kNewline), "PONG\n");
  EXPECT_EQ(Frame("stream: OK", Framing::kNul, 3), "3: stream: OK\0"sv);
  EXPECT_EQ(ErrorLine("/x", "File path check failure: No such file or directory"),
            "/x: File path check failure: No such file or directory. ERROR");
}

TEST(ClamdProtocol, EveryBlockedVerdictIsFoundWithItsDecidingRule) {
  ScanReport report;
  report.action = Action::kAllow;
  EXPECT_EQ(VerdictLines("stream", report, false), std::vector<std::string>{"stream: OK"});

  report.verdict = Verdict::kIncomplete;
  report.action = Action::kBlock;
  report.findings = {{"yara", "Info_Only", Severity::kInfo, FindingKind::kSignature, "a", {}, "", ""},
                     {"tollgate", "Tollgate.Incomplete.encrypted", Severity::kHigh, FindingKind::kIncomplete, "a", {},
                      "encrypted", ""},
                     {"clamav", "Evil\nstream: OK", Severity::kHigh, FindingKind::kSignature, "a", {}, "", ""}};
  report.deciding = {1, 2};
  EXPECT_EQ(VerdictLines("stream", report, false),
            std::vector<std::string>{"stream: Tollgate.Incomplete.encrypted FOUND"});
  EXPECT_EQ(VerdictLines("/srv/a.zip", report, true),
            (std::vector<std::string>{"/srv/a.zip: Tollgate.Incomplete.encrypted FOUND",
                                      "/srv/a.zip: Evil_stream: OK FOUND"}));
  report.deciding.clear();
  EXPECT_EQ(VerdictLines("stream", report, false),
            std::vector<std::string>{"stream: Tollgate.Blocked.incomplete FOUND"});
}

}  // namespace
}  // namespace tollgate::service::clamd
