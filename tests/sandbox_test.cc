// The parser sandbox with real faults: the test-only fault unpacker (tests/fault_unpacker, built with
// TOLLGATE_TEST_FAULTS) crashes, aborts, hangs, hoards memory, forks, opens files and sockets inside
// real workers, first through the WorkerPool API, then behind the real `tollgate serve` and `scan`.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "scan_client.h"
#include "service_test_support.h"
#include "test_support.h"
#include "tollgate/report_json.h"
#include "tollgate/sandbox/worker_pool.h"

namespace tollgate::testing {
namespace {

using namespace std::chrono_literals;
using sandbox::WorkerPool;
using sandbox::WorkerPoolOptions;

const std::string kEicar = R"(X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*)";

std::span<const uint8_t> Bytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// The seccomp mode /proc reports for `pid` ("2": filter), or "" if it cannot be read.
std::string SeccompMode(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("Seccomp:")) return line.substr(line.find_first_not_of(" \t", 8));
  }
  return "";
}

const Finding* IncompleteFinding(const ScanReport& report) {
  for (const Finding& finding : report.findings) {
    if (finding.kind == FindingKind::kIncomplete) return &finding;
  }
  return nullptr;
}

std::string IncompleteReason(const ScanReport& report) {
  const Finding* finding = IncompleteFinding(report);
  return finding != nullptr ? finding->reason : "";
}

// The layer the incomplete finding names.
std::string IncompleteObject(const ScanReport& report) {
  const Finding* finding = IncompleteFinding(report);
  return finding != nullptr ? finding->object : "";
}

ScannerOptions FastOptions() {
  ScannerOptions options;
  // A hung parser is killed at the deadline plus the pool's grace: keep the test short.
  options.limits.max_scan_time = std::chrono::milliseconds(3000);
  return options;
}

class WorkerPoolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    WorkerPoolOptions options;
    options.workers = 2;
    options.memory_limit_bytes = 256ull << 20;
    options.jobs_per_worker = 1000;
    options.kill_grace = std::chrono::milliseconds(500);
    auto pool = WorkerPool::Start(*ScannerSetup::Create(FastOptions()), options);
    ASSERT_TRUE(pool.ok()) << pool.status().ToString();
    pool_ = pool->release();
    reference_ = MakeScanner(FastOptions()).release();
  }
  static void TearDownTestSuite() {
    delete pool_;
    delete reference_;
  }

  static ScanReport Scan(const std::string& name, const std::string& content) {
    auto report = pool_->Scan(name, Bytes(content), std::chrono::steady_clock::time_point::max());
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : ScanReport{};
  }

  // A sandboxed scan gives what an in-process scan gives.
  static void ExpectSameAsInProcess(const std::string& name, const std::string& content) {
    const ScanReport sandboxed = Scan(name, content);
    const ScanReport direct = reference_->Scan(name, Bytes(content));
    EXPECT_EQ(sandboxed.verdict, direct.verdict) << name;
    EXPECT_EQ(sandboxed.action, direct.action) << name;
    EXPECT_EQ(sandboxed.findings, direct.findings) << name;
    EXPECT_EQ(sandboxed.deciding, direct.deciding) << name;
    EXPECT_EQ(sandboxed.sha256, direct.sha256) << name;
    EXPECT_EQ(sandboxed.type.mime, direct.type.mime) << name;
    EXPECT_EQ(sandboxed.layers, direct.layers) << name;
  }

  static WorkerPool* pool_;
  static Scanner* reference_;
};

WorkerPool* WorkerPoolTest::pool_ = nullptr;
Scanner* WorkerPoolTest::reference_ = nullptr;

TEST_F(WorkerPoolTest, TheZygoteCompiledTheRulesAndReportsTheirEngines) {
  const std::vector<EngineInfo>& engines = pool_->engines();
  ASSERT_EQ(engines.size(), reference_->engines().size());
  for (size_t i = 0; i < engines.size(); ++i) {
    EXPECT_EQ(engines[i].name, reference_->engines()[i].name);
    EXPECT_EQ(engines[i].rule_count, reference_->engines()[i].rule_count) << engines[i].name;
  }
  EXPECT_EQ(pool_->setup().rules_version(), reference_->setup().rules_version());
}

TEST_F(WorkerPoolTest, ScansLikeTheScannerInProcess) {
  ExpectSameAsInProcess("notes.txt", "just a note\n");
  ExpectSameAsInProcess("eicar.com", kEicar);
  ExpectSameAsInProcess("empty", "");
  EXPECT_EQ(Scan("eicar.com", kEicar).verdict, Verdict::kMalicious);
}

TEST_F(WorkerPoolTest, EveryWorkerRunsUnderASeccompFilter) {
  const std::vector<pid_t> workers = pool_->WorkerPids();
  ASSERT_EQ(workers.size(), 2u);
  for (pid_t pid : workers) EXPECT_EQ(SeccompMode(pid), "2") << "worker " << pid;
}

struct FaultCase {
  std::string fault;
  std::string reason;
};

class FaultTest : public WorkerPoolTest, public ::testing::WithParamInterface<FaultCase> {};

TEST_P(FaultTest, EndsIncompleteAndTheWorkerIsReplaced) {
  const FaultCase& fault = GetParam();
  const uint64_t started = pool_->WorkersStarted();
  const ScanReport report = Scan("fault.txt", "TOLLGATE-FAULT:" + fault.fault + "\n");
  EXPECT_EQ(report.verdict, Verdict::kIncomplete);
  EXPECT_EQ(report.action, Action::kBlock);
  EXPECT_EQ(IncompleteReason(report), fault.reason);
  EXPECT_EQ(IncompleteObject(report), "fault.txt");
  for (const Finding& finding : report.findings) EXPECT_NE(finding.rule, "Tollgate.TestFault.Escaped") << finding.detail;
  EXPECT_EQ(report.name, "fault.txt");
  EXPECT_FALSE(report.sha256.empty());
  // A killed worker is replaced at once; a refused open leaves the worker fit to go on.
  EXPECT_EQ(pool_->WorkersStarted(), started + (fault.fault == "open" ? 0 : 1));
  EXPECT_EQ(pool_->WorkerPids().size(), 2u);
  for (pid_t pid : pool_->WorkerPids()) EXPECT_EQ(SeccompMode(pid), "2");
  // The pool carries on.
  ExpectSameAsInProcess("eicar.com", kEicar);
  ExpectSameAsInProcess("notes.txt", "just a note\n");
}

INSTANTIATE_TEST_SUITE_P(Faults, FaultTest,
                         ::testing::Values(FaultCase{"crash", "parser_crash"}, FaultCase{"abort", "parser_crash"},
                                           FaultCase{"loop", "timeout"}, FaultCase{"alloc", "memory_limit"},
                                           FaultCase{"fork", "parser_crash"}, FaultCase{"socket", "parser_crash"},
                                           // Landlock refuses the open: the unpacker's error is a parse_error.
                                           FaultCase{"open", "parse_error"}),
                         [](const auto& info) { return info.param.fault; });

// The worker records each layer as it enters it: a crash deep in an archive names the member.
TEST_F(WorkerPoolTest, NamesTheLayerAParserCrashedIn) {
  TempDir dir;
  const std::filesystem::path archive = dir.path() / "upload.zip";
  const CommandResult made = RunPython(
      "import sys, zipfile\n"
      "with zipfile.ZipFile(sys.argv[1], 'w') as z:\n"
      "    z.writestr('docs/notes.txt', 'just a note\\n')\n"
      "    z.writestr('docs/fault.txt', 'TOLLGATE-FAULT:crash\\n')",
      archive.string());
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const ScanReport report = Scan("upload.zip", ReadFile(archive));
  EXPECT_EQ(report.verdict, Verdict::kIncomplete);
  EXPECT_EQ(IncompleteReason(report), "parser_crash");
  EXPECT_EQ(IncompleteObject(report), "upload.zip>docs/fault.txt");
  ExpectSameAsInProcess("notes.txt", "just a note\n");
}

TEST(WorkerPoolRecycling, ReplacesAWorkerAfterItsJobs) {
  WorkerPoolOptions options;
  options.workers = 1;
  options.jobs_per_worker = 2;
  auto pool = WorkerPool::Start(*ScannerSetup::Create(FastOptions()), options);
  ASSERT_TRUE(pool.ok()) << pool.status().ToString();
  const pid_t first = (*pool)->WorkerPids().at(0);
  for (int i = 0; i < 5; ++i) {
    auto report = (*pool)->Scan("eicar.com", Bytes(kEicar), std::chrono::steady_clock::time_point::max());
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->verdict, Verdict::kMalicious);
  }
  EXPECT_EQ((*pool)->WorkersStarted(), 3u);
  EXPECT_NE((*pool)->WorkerPids().at(0), first);
}

TEST(WorkerPoolDeadline, ACallersDeadlineKillsAHungParser) {
  WorkerPoolOptions options;
  options.workers = 1;
  options.kill_grace = std::chrono::milliseconds(200);
  auto pool = WorkerPool::Start(*ScannerSetup::Create(ScannerOptions{}), options);
  ASSERT_TRUE(pool.ok()) << pool.status().ToString();
  const auto started = std::chrono::steady_clock::now();
  auto report = (*pool)->Scan("hang.txt", Bytes("TOLLGATE-FAULT:loop"), started + std::chrono::milliseconds(500));
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(IncompleteReason(*report), "timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

// An operator's kill -9 of a busy worker is said as such, not taken for a memory or parser fault.
TEST(WorkerPoolKill, AWorkerKilledFromOutsideEndsItsScanKilled) {
  WorkerPoolOptions options;
  options.workers = 1;
  auto pool = WorkerPool::Start(*ScannerSetup::Create(FastOptions()), options);
  ASSERT_TRUE(pool.ok()) << pool.status().ToString();
  const pid_t busy = (*pool)->WorkerPids().at(0);
  std::thread killer([busy] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the worker is in its endless loop
    ::kill(busy, SIGKILL);
  });
  auto report = (*pool)->Scan("hang.txt", Bytes("TOLLGATE-FAULT:loop"), std::chrono::steady_clock::time_point::max());
  killer.join();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->verdict, Verdict::kIncomplete);
  EXPECT_EQ(IncompleteReason(*report), "killed");
  const Finding* why = IncompleteFinding(*report);
  ASSERT_NE(why, nullptr);
  EXPECT_EQ(why->detail, "the parser's worker was killed from outside the sandbox (SIGKILL)");
  EXPECT_NE((*pool)->WorkerPids().at(0), busy);
}

// The server's policy decides, whatever verdict a worker's report claims.
TEST(WorkerReport, TheVerdictIsThePolicysFromTheFindings) {
  auto setup = ScannerSetup::Create(ScannerOptions{});
  ASSERT_TRUE(setup.ok()) << setup.status().ToString();
  ScanReport lying;
  lying.name = "invoice.pdf";
  lying.sha256 = std::string(64, 'a');
  lying.rules_version = (*setup)->rules_version();
  lying.findings.push_back({"clamav", "Tollgate.Test.EICAR.UNOFFICIAL", Severity::kHigh, FindingKind::kSignature,
                            "invoice.pdf", std::nullopt, "", ""});
  lying.findings.push_back({"tollgate", "Tollgate.Pdf.Note", Severity::kInfo, FindingKind::kHeuristic,
                            "invoice.pdf", std::nullopt, "", ""});
  lying.verdict = Verdict::kClean;
  lying.action = Action::kAllow;
  auto read = sandbox::ReadWorkerReport(ReportToJson(lying, "invoice.pdf").dump(), **setup);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->verdict, Verdict::kMalicious);
  EXPECT_EQ(read->action, Action::kBlock);
  EXPECT_EQ(read->deciding, std::vector<size_t>{0});
  EXPECT_EQ(read->findings, lying.findings);

  // And the other way round: no finding, no block.
  ScanReport scared = lying;
  scared.findings.clear();
  scared.verdict = Verdict::kMalicious;
  scared.action = Action::kBlock;
  read = sandbox::ReadWorkerReport(ReportToJson(scared, "invoice.pdf").dump(), **setup);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->verdict, Verdict::kClean);
  EXPECT_EQ(read->action, Action::kAllow);

  ScanReport stale = lying;
  stale.rules_version = "sha256:0000000000000000";
  EXPECT_FALSE(sandbox::ReadWorkerReport(ReportToJson(stale, "invoice.pdf").dump(), **setup).ok());
  EXPECT_FALSE(sandbox::ReadWorkerReport("{\"verdict\": \"clean\"}", **setup).ok());
}

// The real server: faults in one call, correct verdicts in the next, workers confined throughout.
TEST(SandboxedServe, ContainsFaultsAndKeepsServing) {
  TempDir dir;
  WriteFile(dir.path() / "eicar.com", kEicar);
  for (const char* fault : {"crash", "loop", "alloc", "socket"}) {
    WriteFile(dir.path() / (std::string(fault) + ".txt"), std::string("TOLLGATE-FAULT:") + fault + "\n");
  }
  ServeProcess serve({"--listen", "127.0.0.1:0", "--workers", "2", "--worker-memory-mb", "256", "--scan-timeout-ms",
                      "3000"});
  ASSERT_TRUE(serve.WaitForEvent("serving")) << serve.Log();
  const int port = serve.port();
  ASSERT_GT(port, 0);
  service::ClientOptions client_options;
  client_options.target = "127.0.0.1:" + std::to_string(port);
  auto client = service::ScanClient::Connect(client_options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();

  auto expect_workers_confined = [&] {
    const std::set<pid_t> workers = WorkersOf(serve.pid());
    EXPECT_EQ(workers.size(), 2u);
    for (pid_t pid : workers) EXPECT_EQ(SeccompMode(pid), "2") << "worker " << pid;
  };
  expect_workers_confined();
  const std::map<std::string, std::string> reasons = {
      {"crash", "parser_crash"}, {"loop", "timeout"}, {"alloc", "memory_limit"}, {"socket", "parser_crash"}};
  for (const auto& [fault, reason] : reasons) {
    auto response = (*client)->ScanFile((dir.path() / (fault + ".txt")).string());
    ASSERT_TRUE(response.ok()) << fault << ": " << response.status().ToString();
    EXPECT_EQ(response->verdict(), v1::VERDICT_INCOMPLETE) << fault;
    bool found = false;
    for (const auto& finding : response->findings()) found |= finding.rule() == "Tollgate.Incomplete." + reason;
    EXPECT_TRUE(found) << fault << ": " << response->DebugString();
    auto next = (*client)->ScanFile((dir.path() / "eicar.com").string());
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    EXPECT_EQ(next->verdict(), v1::VERDICT_MALICIOUS) << "after " << fault;
  }
  expect_workers_confined();
}

// kill -9 of the zygote, the fork server (the zygote dies with it) or every worker, in turn and
// again: the server replaces what it lost by itself, refuses calls meanwhile with UNAVAILABLE (never
// a wrong verdict), and scans correctly again within 5 s.
TEST(SandboxedServe, ReplacesALostZygoteForkServerOrWorkers) {
  ServeProcess serve({"--listen", "127.0.0.1:0", "--workers", "2", "--no-cache", "--metrics", "127.0.0.1:0"});
  ASSERT_TRUE(serve.WaitForEvent("serving")) << serve.Log();
  const std::string metrics_address = serve.WaitForEvent("listening")->at("metrics");
  const int metrics_port = std::stoi(metrics_address.substr(metrics_address.rfind(':') + 1));
  service::ClientOptions client_options;
  client_options.target = "127.0.0.1:" + std::to_string(serve.port());
  auto client = service::ScanClient::Connect(client_options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  int sent = 0;
  // Whether `pid` is gone (or a zombie nobody has reaped yet).
  auto gone = [](pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    const size_t end_of_name = text.rfind(')');
    return end_of_name == std::string::npos || text.substr(end_of_name + 2, 1) == "Z";
  };
  auto wait_until = [](const auto& condition) {
    for (int i = 0; i < 200 && !condition(); ++i) std::this_thread::sleep_for(50ms);
    return condition();
  };
  for (const char* victim : {"tollgate-zygote", "tollgate-forks", "tollgate-worker", "tollgate-zygote",
                             "tollgate-forks"}) {
    // Whole again before the next kill: a zygote and both workers.
    ASSERT_TRUE(wait_until([&] {
      return DescendantsNamed(serve.pid(), "tollgate-zygote").size() == 1 && WorkersOf(serve.pid()).size() == 2;
    })) << serve.Log();
    const std::set<pid_t> victims = DescendantsNamed(serve.pid(), victim);
    ASSERT_FALSE(victims.empty()) << victim;
    // What dies with them: a zygote's workers, a fork server's zygote and its workers.
    std::set<pid_t> dying = victims;
    for (const char* name : {"tollgate-zygote", "tollgate-worker"}) {
      for (pid_t victim_pid : victims) dying.merge(DescendantsNamed(victim_pid, name));
    }
    for (pid_t pid : victims) ::kill(pid, SIGKILL);
    const auto killed = std::chrono::steady_clock::now();
    ASSERT_TRUE(wait_until([&] { return std::all_of(dying.begin(), dying.end(), gone); })) << victim;
    bool correct = false;
    while (!correct && std::chrono::steady_clock::now() - killed < 10s) {
      auto response = (*client)->Scan("eicar.com", kEicar + "\n" + std::to_string(++sent));
      if (!response.ok()) {
        EXPECT_EQ(response.status().code(), StatusCode::kUnavailable) << victim << ": " << response.status().ToString();
        std::this_thread::sleep_for(50ms);
        continue;
      }
      // A scan whose worker died under it is incomplete (blocked): never clean.
      EXPECT_NE(response->verdict(), v1::VERDICT_CLEAN) << victim;
      correct = response->verdict() == v1::VERDICT_MALICIOUS;
    }
    EXPECT_TRUE(correct) << "no correct verdict after the " << victim << " was killed\n" << serve.Log();
    EXPECT_LT(std::chrono::steady_clock::now() - killed, 5s) << victim;
  }
  const std::string log = serve.Log();
  EXPECT_NE(log.find("\"event\":\"sandbox_lost\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"event\":\"sandbox_restored\""), std::string::npos) << log;
  // One fork server, one zygote and two confined workers again, the lost ones reaped.
  EXPECT_EQ(DescendantsNamed(serve.pid(), "tollgate-forks").size(), 1u);
  EXPECT_EQ(DescendantsNamed(serve.pid(), "tollgate-zygote").size(), 1u);
  const std::set<pid_t> workers = WorkersOf(serve.pid());
  EXPECT_EQ(workers.size(), 2u);
  for (pid_t pid : workers) EXPECT_EQ(SeccompMode(pid), "2") << "worker " << pid;
  // Four zygotes lost (a fork server takes its zygote with it), four built again.
  const std::string metrics = HttpGet(metrics_port, "/metrics");
  EXPECT_NE(metrics.find("tollgate_sandbox_restarts_total 4\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("tollgate_sandbox_workers_alive 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("tollgate_sandbox_ready 1\n"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("tollgate_sandbox_worker_restarts_total{reason=\"killed\"} 0\n"), std::string::npos)
      << "the killed workers were counted\n" << metrics;
}

TEST(SandboxedScan, TheCliReportsACrashAndGoesOn) {
  TempDir dir;
  WriteFile(dir.path() / "a-crash.txt", "TOLLGATE-FAULT:crash\n");
  WriteFile(dir.path() / "b-eicar.com", kEicar);
  const CommandResult result =
      RunCommand(std::string(TOLLGATE_EXECUTABLE) + " scan --json --jobs 1 " + dir.path().string());
  const std::vector<nlohmann::json> lines = JsonLines(result.output);
  ASSERT_GE(lines.size(), 3u) << result.output;
  EXPECT_EQ(lines[0].at("verdict"), "incomplete") << result.output;
  EXPECT_EQ(lines[0].at("findings").at(0).at("reason"), "parser_crash") << result.output;
  EXPECT_EQ(lines[1].at("verdict"), "malicious") << result.output;
}

TEST(SandboxedScan, NoSandboxWarns) {
  TempDir dir;
  WriteFile(dir.path() / "notes.txt", "just a note\n");
  const CommandResult result =
      RunCommand(std::string(TOLLGATE_EXECUTABLE) + " scan --no-sandbox " + (dir.path() / "notes.txt").string() + " 2>&1");
  EXPECT_NE(result.output.find("warning: --no-sandbox"), std::string::npos) << result.output;
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

}  // namespace
}  // namespace tollgate::testing
