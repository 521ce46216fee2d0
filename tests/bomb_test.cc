// Archive bombs end `incomplete` cheaply: the CPU time and peak memory of the real `tollgate scan`
// process are measured by the kernel (wait4), not by a timer inside the test.
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "test_support.h"

extern char** environ;

namespace tollgate::testing {
namespace {

struct Measured {
  int exit_code = -1;
  double cpu_seconds = 0;
  double peak_rss_mib = 0;
  nlohmann::json report;
};

Measured ScanMeasured(const std::filesystem::path& sample) {
  TempDir out;
  const std::string output = (out.path() / "out.json").string();
  const std::string command = std::string(TOLLGATE_EXECUTABLE) + " scan --json --jobs 1 " + sample.string() + " > " + output;
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid;
  Measured measured;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) return measured;
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  measured.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  measured.cpu_seconds = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec +
                         usage.ru_stime.tv_usec / 1e6;
  measured.peak_rss_mib = usage.ru_maxrss / 1024.0;  // KiB on Linux
  const std::string lines = ReadFile(output);
  const std::string first_line = lines.substr(0, lines.find('\n'));
  measured.report = nlohmann::json::parse(first_line, nullptr, false);
  return measured;
}

// The sanitizers of the test build slow code and grow memory several times; the limits
// (2 s CPU, 256 MiB) are for the release build, so the test build allows a margin.
#if defined(__SANITIZE_ADDRESS__)
constexpr double kCpuBudget = 6.0, kRssBudgetMib = 768;
#else
constexpr double kCpuBudget = 2.0, kRssBudgetMib = 256;
#endif

void ExpectCheapIncomplete(const std::string& sample, const std::string& reason) {
  const Measured m = ScanMeasured(kCorpus / sample);
  EXPECT_EQ(m.exit_code, 1);
  ASSERT_TRUE(m.report.is_object()) << sample;
  EXPECT_EQ(m.report["verdict"], "incomplete");
  EXPECT_EQ(m.report["action"], "block");
  bool named = false;
  for (const auto& finding : m.report["findings"]) named |= finding.value("reason", "") == reason;
  EXPECT_TRUE(named) << "no finding names the limit " << reason << ": " << m.report.dump();
  EXPECT_LT(m.cpu_seconds, kCpuBudget) << sample;
  EXPECT_LT(m.peak_rss_mib, kRssBudgetMib) << sample;
  ::testing::Test::RecordProperty("cpu_seconds", std::to_string(m.cpu_seconds));
  ::testing::Test::RecordProperty("peak_rss_mib", std::to_string(m.peak_rss_mib));
  std::printf("%s: %.3f s CPU, %.1f MiB peak RSS\n", sample.c_str(), m.cpu_seconds, m.peak_rss_mib);
}

TEST(Bombs, NestedBombOfFourTebibytesEndsIncompleteCheaply) {
  ExpectCheapIncomplete("threats/bomb_nested.zip", "max_expansion_ratio");
}

TEST(Bombs, OverlappingEntryBombIsRejectedBeforeInflating) {
  ExpectCheapIncomplete("threats/bomb_overlap.zip", "overlapping_entries");
}

TEST(Bombs, DeepNestingStopsAtTheDepthLimit) { ExpectCheapIncomplete("threats/deep_nesting.zip", "max_depth"); }

// Layers libclamav extracts itself (a tar: Tollgate has no tar unpacker of its own) count against the
// same limits as the children of Tollgate's unpackers: more members than --max-files ends incomplete.
TEST(ExtractedLayerLimits, ATarOfMoreMembersThanMaxFilesEndsIncomplete) {
  TempDir dir;
  const std::filesystem::path tar = dir.path() / "notes.tar";
  const CommandResult made = RunPython(
      "import io, sys, tarfile\n"
      "with tarfile.open(sys.argv[1], 'w') as t:\n"
      "    for i in range(12):\n"
      "        data = ('note %d\\n' % i).encode()\n"
      "        info = tarfile.TarInfo('note%02d.txt' % i)\n"
      "        info.size = len(data)\n"
      "        t.addfile(info, io.BytesIO(data))",
      tar.string());
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto scan = [&](int max_files) {
    const CommandResult result = RunCommand(std::string(TOLLGATE_EXECUTABLE) + " scan --json --no-cache --max-files " +
                                            std::to_string(max_files) + " " + tar.string());
    return nlohmann::json::parse(result.output.substr(0, result.output.find('\n')), nullptr, false);
  };
  const nlohmann::json within = scan(100);
  ASSERT_TRUE(within.is_object());
  EXPECT_EQ(within["verdict"], "clean");
  EXPECT_EQ(within["layers"], 13);
  const nlohmann::json over = scan(5);
  ASSERT_TRUE(over.is_object());
  EXPECT_EQ(over["verdict"], "incomplete");
  EXPECT_EQ(over["layers"], 5);
  ASSERT_EQ(over["findings"].size(), 1u) << over.dump();
  EXPECT_EQ(over["findings"][0]["rule"], "Tollgate.Incomplete.max_files");
  EXPECT_EQ(over["findings"][0]["object"], "notes.tar>note04.txt");
}

}  // namespace
}  // namespace tollgate::testing
