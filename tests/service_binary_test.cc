// `tollgate serve` and `tollgate scan --remote` as an operator runs them: real binaries, real
// signals, 127.0.0.1 with ephemeral ports.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <sstream>
#include <tuple>
#include <thread>
#include <vector>

#include "service_test_support.h"
#include "tollgate/v1/scanner.grpc.pb.h"

namespace tollgate::testing {
namespace {

using namespace std::chrono_literals;

const std::string kTollgate = TOLLGATE_EXECUTABLE;

// Drops what depends on timing.
// The line without what measures time; stages keep their calls and bytes.
nlohmann::json Timeless(nlohmann::json line) {
  line.erase("duration_ms");
  nlohmann::json& stages = line.contains("summary") ? line["summary"]["stages"] : line["stages"];
  for (nlohmann::json& stage : stages) stage.erase("ms");
  if (line.contains("summary")) {
    for (const char* key : {"seconds", "files_per_second", "mb_per_second"}) line["summary"].erase(key);
  }
  return line;
}

std::string WithoutTimeLine(const std::string& output) {
  std::istringstream in(output);
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("Time: ")) kept += line + "\n";
  }
  return kept;
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

TEST(ServeBinary, RemoteScanPrintsExactlyWhatTheLocalScanPrints) {
  ServeProcess serve({"--listen", "127.0.0.1:0"});
  const int port = serve.port();
  ASSERT_NE(port, 0) << serve.Log();
  ASSERT_TRUE(serve.WaitForEvent("serving")) << serve.Log();
  const std::string remote = " --remote 127.0.0.1:" + std::to_string(port) + " ";

  const CommandResult local_json = RunCommand(kTollgate + " scan --json " + kCorpus.string());
  const CommandResult remote_json = RunCommand(kTollgate + " scan --json" + remote + kCorpus.string());
  EXPECT_EQ(local_json.exit_code, 1);
  EXPECT_EQ(remote_json.exit_code, local_json.exit_code);
  const auto local_lines = JsonLines(local_json.output);
  const auto remote_lines = JsonLines(remote_json.output);
  ASSERT_EQ(remote_lines.size(), CorpusExpectations().size() + 1) << remote_json.output;
  ASSERT_EQ(remote_lines.size(), local_lines.size());
  for (size_t i = 0; i < local_lines.size(); ++i) EXPECT_EQ(Timeless(remote_lines[i]), Timeless(local_lines[i]));

  const CommandResult local_text = RunCommand(kTollgate + " scan " + kCorpus.string());
  const CommandResult remote_text = RunCommand(kTollgate + " scan" + remote + kCorpus.string());
  EXPECT_EQ(remote_text.exit_code, 1);
  EXPECT_EQ(WithoutTimeLine(remote_text.output), WithoutTimeLine(local_text.output));

  const CommandResult clean = RunCommand(kTollgate + " scan" + remote + (kCorpus / "clean").string());
  EXPECT_EQ(clean.exit_code, 0) << clean.output;
  const CommandResult missing = RunCommand(kTollgate + " scan" + remote + (kCorpus / "no-such-file").string());
  EXPECT_EQ(missing.exit_code, 2);
  // Local engine options make no sense with a server's engines.
  EXPECT_EQ(RunCommand(kTollgate + " scan --rules " + kCorpus.string() + remote + kCorpus.string() + " 2>/dev/null")
                .exit_code,
            2);
}

TEST(ServeBinary, RemoteScanWithTlsAndATokenFile) {
  TempDir dir;
  TestCertificates certs;
  ASSERT_TRUE(MakeCertificates(dir.path(), certs));
  WriteFile(dir.path() / "tokens", "# upload service\ntok-acme-0123456789abcdef acme\n");
  WriteFile(dir.path() / "client-token", "tok-acme-0123456789abcdef\n");
  WriteFile(dir.path() / "wrong-token", "tok-wrong-0123456789abcdef\n");
  ServeProcess serve({"--listen", "127.0.0.1:0", "--tls-cert", certs.server_cert, "--tls-key", certs.server_key,
                      "--token-file", (dir.path() / "tokens").string()});
  const int port = serve.port();
  ASSERT_NE(port, 0) << serve.Log();
  ASSERT_TRUE(serve.WaitForEvent("serving"));
  const std::string remote = " --remote 127.0.0.1:" + std::to_string(port) + " --tls-ca " + certs.ca.string();
  const std::string eicar = " " + (kCorpus / "malicious/eicar.com").string();

  const CommandResult good = RunCommand(kTollgate + " scan" + remote + " --token-file " +
                                        (dir.path() / "client-token").string() + eicar);
  EXPECT_EQ(good.exit_code, 1) << good.output;
  EXPECT_NE(good.output.find("eicar.com: Tollgate.Test.EICAR.UNOFFICIAL FOUND\n"), std::string::npos) << good.output;

  const CommandResult wrong = RunCommand(kTollgate + " scan" + remote + " --token-file " +
                                         (dir.path() / "wrong-token").string() + eicar);
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.output.find("eicar.com: UNAUTHENTICATED: invalid token ERROR\n"), std::string::npos) << wrong.output;

  const CommandResult plain = RunCommand(kTollgate + " scan --remote 127.0.0.1:" + std::to_string(port) + eicar + " 2>&1");
  EXPECT_EQ(plain.exit_code, 2);
  EXPECT_NE(plain.output.find("cannot connect to 127.0.0.1:"), std::string::npos) << plain.output;

  const std::string log = serve.Log();
  EXPECT_NE(log.find("\"reason\":\"bad_token\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"tenant\":\"acme\""), std::string::npos) << log;
  EXPECT_EQ(log.find("tok-acme-0123456789abcdef"), std::string::npos) << "tokens are never logged";
}

TEST(ServeBinary, AnUnreachableServerIsAnOperationalError) {
  const CommandResult result = RunCommand(kTollgate + " scan --remote 127.0.0.1:" + std::to_string(FreePort()) + " " +
                                          (kCorpus / "clean/letter.txt").string() + " 2>&1");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("tollgate: cannot scan with 127.0.0.1:"), std::string::npos) << result.output;
}

TEST(ServeBinary, SigtermDrainsCallsInFlightAndExitsZero) {
  ServeProcess serve({"--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--shutdown-grace-ms", "20000"});
  const int port = serve.port();
  ASSERT_NE(port, 0) << serve.Log();
  ASSERT_TRUE(serve.WaitForEvent("serving"));
  const auto listening = serve.WaitForEvent("listening");
  const std::string metrics = listening->at("metrics");
  const int metrics_port = std::stoi(metrics.substr(metrics.rfind(':') + 1));

  auto stub = v1::Scanner::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 30s);
  v1::ScanResponse response;
  auto writer = stub->ScanStream(&context, &response);
  v1::ScanChunk message;
  message.mutable_metadata()->set_filename("eicar.com");
  ASSERT_TRUE(writer->Write(message)) << writer->Finish().error_message() << "\n" << serve.Log();
  for (int i = 0; i < 1000 && HttpGet(metrics_port, "/metrics").find("tollgate_scans_in_flight 1\n") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_NE(HttpGet(metrics_port, "/metrics").find("tollgate_scans_in_flight 1\n"), std::string::npos);

  serve.Signal(SIGTERM);
  ASSERT_TRUE(serve.WaitForEvent("shutdown", 10s)) << serve.Log();
  EXPECT_FALSE(serve.WaitExit(300ms)) << "the server must wait for the call in flight";
  message.set_data(kEicar);
  ASSERT_TRUE(writer->Write(message));
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.verdict(), v1::VERDICT_MALICIOUS);
  EXPECT_EQ(serve.WaitExit(15s), 0) << serve.Log();
  EXPECT_TRUE(serve.WaitForEvent("stopped", 1s)) << serve.Log();
}

// Rolling restarts: an idle client connection does not hold the server for its grace period.
TEST(ServeBinary, SigtermWithIdleClientsAndNoCallExitsWithinASecond) {
  ServeProcess serve({"--listen", "127.0.0.1:0", "--shutdown-grace-ms", "20000"});
  const int port = serve.port();
  ASSERT_NE(port, 0) << serve.Log();
  ASSERT_TRUE(serve.WaitForEvent("serving")) << serve.Log();
  std::vector<std::unique_ptr<v1::Scanner::Stub>> idle;
  for (int i = 0; i < 3; ++i) {
    idle.push_back(v1::Scanner::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                           grpc::InsecureChannelCredentials())));
    grpc::ClientContext context;
    v1::ScanRequest request;
    request.set_filename("letter.txt");
    request.set_content("Dear customer, your invoice is attached.\n");
    v1::ScanResponse response;
    ASSERT_TRUE(idle.back()->Scan(&context, request, &response).ok());
    EXPECT_EQ(response.verdict(), v1::VERDICT_CLEAN);
  }
  const auto signalled = std::chrono::steady_clock::now();
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.WaitExit(5s), 0) << serve.Log();
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 1s) << serve.Log();
}

// Scans a small clean file; the status of the call.
grpc::Status ScanLetter(v1::Scanner::Stub& stub) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  v1::ScanRequest request;
  request.set_filename("letter.txt");
  request.set_content("Dear customer, your invoice is attached.\n");
  v1::ScanResponse response;
  return stub.Scan(&context, request, &response);
}

// Opens a ScanStream that sends its metadata and one chunk, then `more` chunks `every` apart, and
// never finishes: the status the server ends it with.
grpc::Status StallingUpload(v1::Scanner::Stub& stub, int more, std::chrono::milliseconds every) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 60s);
  v1::ScanResponse response;
  auto writer = stub.ScanStream(&context, &response);
  v1::ScanChunk chunk;
  chunk.mutable_metadata()->set_filename("slow.txt");
  writer->Write(chunk);
  chunk.set_data("a line of a slow upload\n");
  writer->Write(chunk);
  for (int i = 0; i < more && writer->Write(chunk); ++i) std::this_thread::sleep_for(every);
  return writer->Finish();  // returns once the server ends the call
}

// A stalled (or endlessly slow) upload loses its slot: with one slot, the next caller gets in
// once the receive idle time, or the whole-upload limit, has passed.
TEST(ServeBinary, AStalledUploadCannotKeepOtherCallersOut) {
  ServeProcess serve({"--listen", "127.0.0.1:0", "--max-concurrent", "1", "--receive-idle-ms", "600",
                      "--max-upload-ms", "2000"});
  const int port = serve.port();
  ASSERT_NE(port, 0) << serve.Log();
  ASSERT_TRUE(serve.WaitForEvent("serving")) << serve.Log();
  auto stub = v1::Scanner::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));

  for (const auto& [more, every, message] :
       {std::tuple{0, 0ms, std::string("no chunk for 600 ms: the upload stalled")},
        std::tuple{1000, 100ms, std::string("the upload took longer than 2000 ms")}}) {
    const auto started = std::chrono::steady_clock::now();
    std::thread stalled([&, more = more, every = every] {
      // The call is cancelled under the client: its status says CANCELLED, the server's log why.
      EXPECT_EQ(StallingUpload(*stub, more, every).error_code(), grpc::StatusCode::CANCELLED);
    });
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(ScanLetter(*stub).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << "the slow upload holds the slot";
    grpc::Status next = ScanLetter(*stub);
    while (!next.ok() && std::chrono::steady_clock::now() - started < 10s) {
      std::this_thread::sleep_for(50ms);
      next = ScanLetter(*stub);
    }
    EXPECT_TRUE(next.ok()) << next.error_message();
    // Free by the limit plus the watch's period (a quarter of the shorter limit) and a margin.
    EXPECT_LT(std::chrono::steady_clock::now() - started, (more == 0 ? 600ms : 2000ms) + 150ms + 1s);
    stalled.join();
    const std::string log = serve.Log();
    EXPECT_NE(log.find("\"reason\":\"stalled\""), std::string::npos) << log;
    EXPECT_NE(log.find(message), std::string::npos) << log;
  }
}

TEST(ServeBinary, SigintWhileIdleExitsZero) {
  ServeProcess serve({"--listen", "127.0.0.1:0"});
  ASSERT_TRUE(serve.WaitForEvent("serving")) << serve.Log();
  serve.Signal(SIGINT);
  EXPECT_EQ(serve.WaitExit(15s), 0) << serve.Log();
}

TEST(ServeBinary, RefusesToStartWithExitTwoAndSaysWhy) {
  ServeProcess remote_plain({"--listen", "0.0.0.0:0"});
  EXPECT_EQ(remote_plain.WaitExit(15s), 2);
  EXPECT_NE(remote_plain.Log().find("tollgate: cannot serve: INVALID_ARGUMENT: --listen 0.0.0.0:0 is not a loopback "
                                    "address: plain text is only served on loopback"),
            std::string::npos)
      << remote_plain.Log();

  TempDir bundle;
  WriteFile(bundle.path() / "yara/broken.yar", "rule Broken {\n condition: nonsense_identifier\n}\n");
  ServeProcess broken({"--listen", "127.0.0.1:0", "--rules", bundle.path().string()});
  EXPECT_EQ(broken.WaitExit(15s), 2);
  EXPECT_NE(broken.Log().find("tollgate: cannot start the scanner: INVALID_ARGUMENT: yara: "), std::string::npos)
      << broken.Log();

  TempDir tokens;
  WriteFile(tokens.path() / "tokens", "short acme\n");
  ServeProcess bad_tokens({"--listen", "127.0.0.1:0", "--token-file", (tokens.path() / "tokens").string()});
  EXPECT_EQ(bad_tokens.WaitExit(15s), 2);
  EXPECT_NE(bad_tokens.Log().find("tokens:1: token shorter than 16 characters"), std::string::npos) << bad_tokens.Log();
}

}  // namespace
}  // namespace tollgate::testing
