// The audit log behind the real `tollgate serve` and `tollgate scan`: no verdict a client received
// is missing after kill -9, refused calls and the server's life are recorded, and a local scan
// records every verdict it prints.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "convert.h"
#include "file_size_limit.h"
#include "scan_client.h"
#include "scan_server.h"
#include "service_test_support.h"
#include "tollgate/audit/checkpoint_key.h"
#include "tollgate/audit/log_verifier.h"
#include "tollgate/audit/log_writer.h"

namespace tollgate::testing {
namespace {

namespace fs = std::filesystem;

class AuditServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = temp_.path() / "audit.key";
    public_key_ = temp_.path() / "audit.pub";
    ASSERT_TRUE(MakeAuditKeyPair(key_, public_key_));
  }

  std::vector<std::string> AuditArgs() const {
    return {"--audit-dir", dir().string(), "--audit-key", key_.string()};
  }
  fs::path dir() const { return temp_.path() / "audit"; }

  // Every complete record of the log, in order. kill -9 may cut the last write short: the bytes
  // after a file's last newline are a torn record, which the verifier accounts for, not a record.
  std::vector<nlohmann::json> Records() const {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir())) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    std::vector<nlohmann::json> records;
    for (const fs::path& file : files) {
      std::string content = ReadFile(file);
      const size_t complete_end = content.rfind('\n');
      content.resize(complete_end == std::string::npos ? 0 : complete_end + 1);
      for (nlohmann::json& record : JsonLines(content)) records.push_back(std::move(record));
    }
    return records;
  }

  std::vector<nlohmann::json> RecordsOfType(const std::string& type) const {
    std::vector<nlohmann::json> matching;
    for (const auto& record : Records()) {
      if (record["type"] == type) matching.push_back(record);
    }
    return matching;
  }

  audit::VerifyResult Verify() const {
    auto key = audit::VerifyingKey::Load(public_key_.string());
    EXPECT_TRUE(key.ok());
    auto result = audit::VerifyLog(dir().string(), *key);
    EXPECT_TRUE(result.ok());
    return *result;
  }

  TempDir temp_;
  fs::path key_, public_key_;
};

std::unique_ptr<service::ScanClient> Connect(int port, const std::string& token_file = "") {
  service::ClientOptions options;
  options.target = fmt::format("127.0.0.1:{}", port);
  options.token_file = token_file;
  auto client = service::ScanClient::Connect(options);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(*client) : nullptr;
}

TEST_F(AuditServeTest, KillNineLosesNoVerdictAClientReceived) {
  std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--max-concurrent", "64"};
  for (const std::string& arg : AuditArgs()) args.push_back(arg);
  std::map<std::string, std::string> received;  // filename -> verdict the client got
  {
    ServeProcess serve(args);
    const int port = serve.port();
    ASSERT_GT(port, 0) << serve.Log();
    ASSERT_TRUE(serve.WaitForEvent("serving")) << serve.Log();
    auto client = Connect(port);
    ASSERT_TRUE(client);

    std::mutex mutex;
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          const std::string name = fmt::format("upload-{}-{}.txt", t, i);
          auto response = client->Scan(name, i % 4 == 0 ? kEicar : "quarterly report " + name);
          if (!response.ok()) return;  // the server is gone
          std::lock_guard lock(mutex);
          received[name] = std::string(ToString(service::FromProto(*response).verdict));
        }
      });
    }
    // Under load, then killed without warning.
    for (int waited = 0; waited < 600; ++waited) {
      {
        std::lock_guard lock(mutex);
        if (received.size() >= 150) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    serve.Signal(SIGKILL);
    for (std::thread& thread : threads) thread.join();
    ASSERT_GE(received.size(), 150u);
  }

  std::map<std::string, std::string> logged;
  for (const auto& record : RecordsOfType("verdict")) logged[record["filename"]] = record["verdict"];
  size_t missing = 0;
  for (const auto& [name, verdict] : received) {
    const auto it = logged.find(name);
    if (it == logged.end()) {
      ++missing;
      ADD_FAILURE() << name << " was returned to the client but is not in the audit log";
    } else {
      EXPECT_EQ(it->second, verdict) << name;
    }
  }
  EXPECT_EQ(missing, 0u);
  std::printf("killed under load: %zu verdicts returned, %zu in the audit log\n", received.size(), logged.size());
  EXPECT_LE(logged.size(), received.size() + 64) << "only calls in flight may be logged but unanswered";

  // The next start picks the log up where the killed one left it, and the whole log verifies.
  {
    ServeProcess serve(args);
    ASSERT_TRUE(serve.WaitForEvent("serving")) << serve.Log();
    serve.Signal(SIGTERM);
    EXPECT_EQ(serve.WaitExit(std::chrono::seconds(60)), 0) << serve.Log();
  }
  const audit::VerifyResult result = Verify();
  ASSERT_FALSE(result.problem.has_value()) << result.problem->file << " line " << result.problem->line << ": "
                                           << result.problem->message;
  EXPECT_EQ(result.unsigned_records, 0u);
  EXPECT_EQ(RecordsOfType("server_start").size(), 2u);
  EXPECT_EQ(RecordsOfType("server_stop").size(), 1u);
}

TEST_F(AuditServeTest, RefusedCallsAndTheServersLifeAreRecorded) {
  WriteFile(temp_.path() / "tokens", "good-token-0123456789 acme\n");
  WriteFile(temp_.path() / "bad", "wrong-token-0123456789\n");
  WriteFile(temp_.path() / "good", "good-token-0123456789\n");
  std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--token-file", (temp_.path() / "tokens").string(),
                                   "--max-upload-mb", "1"};
  for (const std::string& arg : AuditArgs()) args.push_back(arg);
  ServeProcess serve(args);
  const int port = serve.port();
  ASSERT_GT(port, 0) << serve.Log();
  ASSERT_TRUE(serve.WaitForEvent("serving")) << serve.Log();

  auto intruder = Connect(port, (temp_.path() / "bad").string());
  ASSERT_TRUE(intruder);
  EXPECT_FALSE(intruder->Scan("x.txt", "hello").ok());
  auto tenant = Connect(port, (temp_.path() / "good").string());
  ASSERT_TRUE(tenant);
  EXPECT_FALSE(tenant->ScanStream("big.bin", std::string((1 << 20) + 1, 'a')).ok());
  auto blocked = tenant->Scan("eicar.com", kEicar);
  ASSERT_TRUE(blocked.ok()) << blocked.status().ToString();
  serve.Signal(SIGTERM);
  ASSERT_EQ(serve.WaitExit(std::chrono::seconds(60)), 0) << serve.Log();

  const auto refused = RecordsOfType("refused");
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[0]["reason"], "bad_token");
  EXPECT_EQ(refused[0]["tenant"], "");
  EXPECT_EQ(refused[1]["reason"], "too_large");
  EXPECT_EQ(refused[1]["tenant"], "acme");
  const auto verdicts = RecordsOfType("verdict");
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0]["filename"], "eicar.com");
  EXPECT_EQ(verdicts[0]["tenant"], "acme");
  EXPECT_EQ(verdicts[0]["action"], "block");
  EXPECT_EQ(verdicts[0]["source"], "Scan");
  EXPECT_FALSE(verdicts[0]["deciding"].empty());

  // The lifecycle frames everything else, and the last record is the shutdown checkpoint.
  const auto records = Records();
  std::vector<std::string> events;
  for (const auto& record : records) {
    const std::string type = record["type"];
    if (type != "file_start" && type != "checkpoint") events.push_back(type);
  }
  EXPECT_EQ(events, (std::vector<std::string>{"server_start", "refused", "refused", "verdict", "server_stop"}));
  EXPECT_EQ(records.back()["type"], "checkpoint");
  EXPECT_EQ(records.back()["reason"], "shutdown");
  EXPECT_FALSE(Verify().problem.has_value());
}

TEST_F(AuditServeTest, AVerdictTheLogCannotHoldIsNotReturned) {
  audit::LogOptions log_options;
  log_options.dir = dir().string();
  log_options.key_file = key_.string();
  log_options.background = false;
  auto log = audit::AuditLog::Open(log_options);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> quiet(std::fopen("/dev/null", "w"), &std::fclose);
  service::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.log = quiet.get();
  options.audit = log->get();
  auto server = service::ScanServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto scanner = Scanner::Create(ScannerOptions{});
  ASSERT_TRUE(scanner.ok()) << scanner.status().ToString();
  (*server)->SetScanner(tollgate::InProcessRunner(std::move(*scanner)), {});
  auto client = Connect((*server)->port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->Scan("recorded.txt", "hello").ok());
  const auto refused = [&] {
    // The log's file may not grow any more, as on a full disk.
    const FileSizeLimit limit(fs::file_size(fs::directory_iterator(dir())->path()));
    return client->Scan("unrecorded.txt", "hello");
  }();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("cannot be recorded in the audit log"), std::string::npos);
  // And every verdict after it, though there is room again: fail closed.
  const auto later = client->Scan("later.txt", kEicar);
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.status().code(), StatusCode::kUnavailable);
  (*server)->Shutdown();
  EXPECT_FALSE((*log)->Close().ok());
  const auto verdicts = RecordsOfType("verdict");
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0]["filename"], "recorded.txt");
}

TEST_F(AuditServeTest, LocalScanRecordsEveryVerdictItPrints) {
  WriteFile(temp_.path() / "files" / "clean.txt", "nothing to see");
  WriteFile(temp_.path() / "files" / "eicar.com", kEicar);
  std::string command = std::string(TOLLGATE_EXECUTABLE) + " scan --json";
  for (const std::string& arg : AuditArgs()) command += " " + arg;
  const auto result = RunCommand(command + " " + (temp_.path() / "files").string());
  EXPECT_EQ(result.exit_code, 1) << result.output;
  const auto verdicts = RecordsOfType("verdict");
  ASSERT_EQ(verdicts.size(), 2u);
  std::map<std::string, std::string> actions;
  for (const auto& record : verdicts) {
    actions[fs::path(record["filename"].get<std::string>()).filename().string()] = record["action"];
    EXPECT_EQ(record["source"], "cli");
    EXPECT_NE(record["client"].get<std::string>().find("uid "), std::string::npos);
  }
  EXPECT_EQ(actions, (std::map<std::string, std::string>{{"clean.txt", "allow"}, {"eicar.com", "block"}}));
  EXPECT_FALSE(Verify().problem.has_value());

  // A key others can read is refused before anything is scanned.
  fs::permissions(key_, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const auto exposed = RunCommand(command + " " + (temp_.path() / "files").string() + " 2>&1");
  EXPECT_EQ(exposed.exit_code, 2) << exposed.output;
  EXPECT_NE(exposed.output.find("0400"), std::string::npos) << exposed.output;
  EXPECT_EQ(RecordsOfType("verdict").size(), 2u);
}

}  // namespace
}  // namespace tollgate::testing
