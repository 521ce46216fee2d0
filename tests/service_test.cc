// The gRPC service end to end: a real ScanServer on 127.0.0.1 (ephemeral port) with the real
// engines, driven through generated stubs over real connections.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fmt/format.h>

#include <cstdio>
#include <future>

#include "convert.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "scan_server.h"
#include "service_test_support.h"
#include "tollgate/v1/scanner.grpc.pb.h"

namespace tollgate::testing {
namespace {

using namespace std::chrono_literals;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using service::ScanServer;
using service::ServerOptions;

const std::string kGoodToken = "tok-acme-0123456789abcdef";
const std::string kOtherToken = "tok-globex-0123456789abcdef";

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[32];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned char byte : digest) hex += fmt::format("{:02x}", byte);
  return hex;
}

// A decision log the test can read back.
class CapturedLog {
 public:
  CapturedLog() : file_(std::tmpfile()) {}
  ~CapturedLog() { std::fclose(file_); }
  std::FILE* file() const { return file_; }
  std::vector<nlohmann::json> Lines() const {
    std::fflush(file_);
    std::rewind(file_);
    std::vector<nlohmann::json> lines;
    char buffer[1 << 16];
    while (std::fgets(buffer, sizeof buffer, file_)) lines.push_back(nlohmann::json::parse(buffer));
    std::fseek(file_, 0, SEEK_END);
    return lines;
  }
  std::vector<nlohmann::json> Events(const std::string& event) const {
    std::vector<nlohmann::json> found;
    for (auto& line : Lines()) {
      if (line["event"] == event) found.push_back(line);
    }
    return found;
  }

 private:
  std::FILE* file_;
};

class ServiceTest : public ::testing::Test {
 protected:
  // Starts a server with `options` (listening on 127.0.0.1:0), serving unless `serve` is false.
  void StartServer(ServerOptions options = {}, bool serve = true) {
    options.listen = options.listen == ServerOptions{}.listen ? "127.0.0.1:0" : options.listen;
    options.log = log_.file();
    auto server = ScanServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    if (serve) Serve();
  }

  void Serve() {
    auto scanner = Scanner::Create(ScannerOptions{});
    ASSERT_TRUE(scanner.ok()) << scanner.status().ToString();
    server_->SetScanner(tollgate::InProcessRunner(std::move(*scanner)), 0.25s);
  }

  std::string Target() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  std::shared_ptr<grpc::Channel> Channel(std::shared_ptr<grpc::ChannelCredentials> credentials =
                                             grpc::InsecureChannelCredentials()) const {
    grpc::ChannelArguments arguments;
    arguments.SetMaxSendMessageSize(-1);
    return grpc::CreateCustomChannel(Target(), credentials, arguments);
  }

  std::unique_ptr<v1::Scanner::Stub> Stub(std::shared_ptr<grpc::ChannelCredentials> credentials =
                                              grpc::InsecureChannelCredentials()) const {
    return v1::Scanner::NewStub(Channel(std::move(credentials)));
  }

  static std::unique_ptr<grpc::ClientContext> Context(std::chrono::milliseconds timeout = 20s,
                                                      const std::string& token = "") {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + timeout);
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
    return context;
  }

  static grpc::Status Scan(v1::Scanner::Stub& stub, const std::string& name, const std::string& content,
                           v1::ScanResponse& response, const std::string& token = "") {
    v1::ScanRequest request;
    request.set_filename(name);
    request.set_content(content);
    return stub.Scan(Context(20s, token).get(), request, &response);
  }

  // ScanStream in chunks of `chunk` bytes, declaring the size.
  static grpc::Status ScanStream(v1::Scanner::Stub& stub, const std::string& name, const std::string& content,
                                 v1::ScanResponse& response, size_t chunk = 1 << 20,
                                 std::chrono::milliseconds timeout = 20s) {
    auto context = Context(timeout);
    auto writer = stub.ScanStream(context.get(), &response);
    v1::ScanChunk message;
    message.mutable_metadata()->set_filename(name);
    message.mutable_metadata()->set_size(content.size());
    bool open = writer->Write(message);
    for (size_t offset = 0; open && offset < content.size(); offset += chunk) {
      message.set_data(content.substr(offset, chunk));
      open = writer->Write(message);
    }
    if (open) writer->WritesDone();
    return writer->Finish();
  }

  HealthCheckResponse::ServingStatus Health(const std::string& service) const {
    auto stub = grpc::health::v1::Health::NewStub(Channel());
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    const grpc::Status status = stub->Check(Context(5s).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.status();
  }

  int InFlight() const {
    const std::string text = server_->MetricsText();
    const std::string key = "\ntollgate_scans_in_flight ";
    return std::stoi(text.substr(text.find(key) + key.size()));
  }

  void WaitForInFlight(int expected) const {
    for (int i = 0; i < 1000 && InFlight() != expected; ++i) std::this_thread::sleep_for(5ms);
    ASSERT_EQ(InFlight(), expected);
  }

  CapturedLog log_;
  std::unique_ptr<ScanServer> server_;
};

TEST_F(ServiceTest, CorpusVerdictsOverScanAndScanStreamMatchTheExpectationsAndTheLocalScan) {
  StartServer();
  auto local = MakeScanner({});
  ASSERT_NE(local, nullptr);
  const nlohmann::json expectations = CorpusExpectations();
  auto stub = Stub();
  for (const auto& [sample, expected] : expectations.items()) {
    const std::string content = ReadFile(kCorpus / sample);
    const std::string name = std::filesystem::path(sample).filename();
    const ScanReport report = local->Scan(name, {reinterpret_cast<const uint8_t*>(content.data()), content.size()});
    v1::ScanResponse unary, streamed;
    ASSERT_TRUE(Scan(*stub, name, content, unary).ok()) << sample;
    // Small chunks: every sample crosses several messages.
    ASSERT_TRUE(ScanStream(*stub, name, content, streamed, 97).ok()) << sample;
    for (const v1::ScanResponse* response : {&unary, &streamed}) {
      const ScanReport remote = service::FromProto(*response);
      EXPECT_EQ(ToString(remote.verdict), expected.at("verdict").get<std::string>()) << sample;
      EXPECT_EQ(remote.action, expected.at("verdict") == "clean" ? Action::kAllow : Action::kBlock) << sample;
      std::multiset<FindingKey> keys;
      for (const Finding& f : remote.findings) keys.emplace(f.engine, f.rule, f.object);
      EXPECT_EQ(keys, ExpectedFindingKeys(expected)) << sample;
      // Identical to the in-process scan, field by field.
      EXPECT_EQ(remote.findings, report.findings) << sample;
      EXPECT_EQ(remote.deciding, report.deciding) << sample;
      EXPECT_EQ(remote.sha256, Sha256Hex(content)) << sample;
      EXPECT_EQ(remote.size, content.size()) << sample;
      EXPECT_EQ(remote.type.mime, report.type.mime) << sample;
      EXPECT_EQ(remote.layers, report.layers) << sample;
      EXPECT_EQ(remote.rules_version, local->setup().rules_version());
      EXPECT_EQ(response->filename(), name);
      EXPECT_EQ(response->policy(), local->setup().policy_name());
      EXPECT_EQ(static_cast<size_t>(response->engines_size()), local->engines().size());
      EXPECT_GE(response->timings().server_micros(), response->timings().scan_micros());
    }
  }
  // One decision line per scan, with who/what/verdict and never the content.
  const auto scans = log_.Events("scan");
  ASSERT_EQ(scans.size(), 2 * expectations.size());
  const nlohmann::json& eicar = *std::find_if(scans.begin(), scans.end(), [](const auto& l) {
    return l["filename"] == "eicar.com";
  });
  for (const char* key : {"time", "peer", "tenant", "sha256", "filename", "size", "verdict", "action",
                          "rules_version", "duration_ms"}) {
    EXPECT_TRUE(eicar.contains(key)) << key;
  }
  EXPECT_EQ(eicar["verdict"], "malicious");
  EXPECT_EQ(eicar["action"], "block");
  EXPECT_EQ(eicar["sha256"], "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f");
  EXPECT_EQ(eicar.dump().find("EICAR-STANDARD"), std::string::npos);
}

TEST_F(ServiceTest, AFileLargerThanFourMebibytesGoesThroughScanStream) {
  StartServer();
  std::string content(6 << 20, 'a');
  for (size_t i = 0; i < content.size(); i += 64) content[i] = '\n';
  content += kEicar;
  auto stub = Stub();
  v1::ScanResponse response;
  const grpc::Status status = ScanStream(*stub, "big.txt", content, response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.size(), content.size());
  EXPECT_EQ(response.sha256(), Sha256Hex(content));
  EXPECT_EQ(response.verdict(), v1::VERDICT_MALICIOUS);
  const ScanReport remote = service::FromProto(response);
  EXPECT_NE(std::find_if(remote.findings.begin(), remote.findings.end(),
                         [](const Finding& f) { return f.rule == "Tollgate.EICAR" && f.object == "big.txt"; }),
            remote.findings.end());
  // The same file does not fit one message.
  v1::ScanResponse unary;
  EXPECT_EQ(Scan(*stub, "big.txt", content, unary).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(ServiceTest, AScanCutShortByTheClientDeadlineIsIncompleteAndStopsEarly) {
  StartServer();
  TempDir dir;
  ASSERT_TRUE(MakeTarGz(dir.path() / "many.tar.gz", 8'000, 400));
  const std::string content = ReadFile(dir.path() / "many.tar.gz");
  auto stub = Stub();
  v1::ScanResponse response;
  // The whole file takes about 10 s under ASan; the server stops at 3 s, keeping 2 s for the reply,
  // for what the engines still finish after the deadline and for the sandbox's kill grace.
  const auto started = std::chrono::steady_clock::now();
  const grpc::Status status = ScanStream(*stub, "many.tar.gz", content, response, 1 << 20, 5s);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(status.ok()) << status.error_message() << " after "
                           << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms; "
                           << (log_.Lines().empty() ? std::string() : log_.Lines().back().dump());
  EXPECT_EQ(response.verdict(), v1::VERDICT_INCOMPLETE);
  EXPECT_EQ(response.action(), v1::ACTION_BLOCK);
  EXPECT_TRUE(std::any_of(response.findings().begin(), response.findings().end(),
                          [](const v1::Finding& f) { return f.reason() == "timeout" && f.deciding(); }));
  EXPECT_LT(elapsed, 5s);
  EXPECT_LT(response.layers(), 8'002u) << "not every layer was scanned";
  // The scan stopped: nothing keeps running after the verdict.
  EXPECT_EQ(InFlight(), 0);
}

TEST_F(ServiceTest, UploadsOverTheLimitAreRefusedWhileReceiving) {
  ServerOptions options;
  options.max_upload_bytes = 1 << 20;
  StartServer(options);
  auto stub = Stub();
  const std::string content(3 << 20, 'x');
  v1::ScanResponse response;
  grpc::Status status = ScanStream(*stub, "big.bin", content, response, 256 << 10);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(status.error_message().find("over the limit of 1048576 bytes"), std::string::npos) << status.error_message();

  // A declared size over the limit is refused before any data is sent.
  auto context = Context();
  auto writer = stub->ScanStream(context.get(), &response);
  v1::ScanChunk metadata;
  metadata.mutable_metadata()->set_filename("big.bin");
  metadata.mutable_metadata()->set_size(2 << 20);
  writer->Write(metadata);
  status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  EXPECT_EQ(Scan(*stub, "big.bin", std::string(2 << 20, 'x'), response).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(server_->MetricsText().find("tollgate_rejected_total{reason=\"too_large\"} 3\n"), std::string::npos);
  EXPECT_EQ(log_.Events("refused").size(), 3u);
}

TEST_F(ServiceTest, MalformedRequestsAreInvalidArguments) {
  StartServer();
  auto stub = Stub();
  v1::ScanResponse response;
  auto stream = [&](const std::vector<v1::ScanChunk>& messages) {
    auto context = Context();
    auto writer = stub->ScanStream(context.get(), &response);
    for (const auto& message : messages) writer->Write(message);
    writer->WritesDone();
    return writer->Finish();
  };
  v1::ScanChunk metadata, data;
  metadata.mutable_metadata()->set_filename("a.txt");
  data.set_data("hello");
  EXPECT_EQ(stream({}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(stream({data, metadata}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(stream({metadata, data, metadata}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ScanChunk sized = metadata;
  sized.mutable_metadata()->set_size(6);
  const grpc::Status short_stream = stream({sized, data});
  EXPECT_EQ(short_stream.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(short_stream.error_message(), "metadata declared 6 bytes, the stream carried 5");
  EXPECT_TRUE(stream({metadata, data}).ok());
  EXPECT_EQ(response.verdict(), v1::VERDICT_CLEAN);

  v1::ScanRequest request;
  request.set_filename("a.txt");
  request.set_policy("no-such-policy");
  EXPECT_EQ(stub->Scan(Context().get(), request, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, PastTheConcurrencyLimitCallsAreRefusedAtOnceAsBusy) {
  ServerOptions options;
  options.max_concurrent = 1;
  StartServer(options);
  auto stub = Stub();
  // An upload in progress holds the only slot.
  v1::ScanResponse held_response;
  auto held_context = Context();
  auto held = stub->ScanStream(held_context.get(), &held_response);
  v1::ScanChunk message;
  message.mutable_metadata()->set_filename("slow.txt");
  ASSERT_TRUE(held->Write(message));
  WaitForInFlight(1);

  v1::ScanRequest request;
  request.set_filename("a.txt");
  request.set_content("hello");
  v1::ScanResponse response;
  auto context = Context();
  const auto started = std::chrono::steady_clock::now();
  const grpc::Status busy = stub->Scan(context.get(), request, &response);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_EQ(busy.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  const auto& trailers = context->GetServerTrailingMetadata();
  ASSERT_EQ(trailers.count("tollgate-retryable"), 1u);
  EXPECT_EQ(trailers.find("tollgate-retryable")->second, "busy");

  message.set_data("hello");
  ASSERT_TRUE(held->Write(message));
  held->WritesDone();
  EXPECT_TRUE(held->Finish().ok());
  EXPECT_EQ(held_response.verdict(), v1::VERDICT_CLEAN);
  WaitForInFlight(0);
  EXPECT_TRUE(stub->Scan(Context().get(), request, &response).ok());
  EXPECT_NE(server_->MetricsText().find("tollgate_rejected_total{reason=\"busy\"} 1\n"), std::string::npos);
}

TEST_F(ServiceTest, TlsServesOnlyClientsThatTrustItsCertificate) {
  TempDir dir;
  TestCertificates certs;
  ASSERT_TRUE(MakeCertificates(dir.path(), certs));
  ServerOptions options;
  options.tls_cert_file = certs.server_cert;
  options.tls_key_file = certs.server_key;
  StartServer(options);

  grpc::SslCredentialsOptions trusting;
  trusting.pem_root_certs = ReadFile(certs.ca);
  v1::ScanResponse response;
  auto stub = Stub(grpc::SslCredentials(trusting));
  const grpc::Status status = Scan(*stub, "eicar.com", kEicar, response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.verdict(), v1::VERDICT_MALICIOUS);

  grpc::SslCredentialsOptions wrong_ca;
  wrong_ca.pem_root_certs = ReadFile(certs.rogue_ca);
  EXPECT_EQ(Scan(*Stub(grpc::SslCredentials(wrong_ca)), "a", "b", response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Scan(*Stub(), "a", "b", response).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ServiceTest, MutualTlsRefusesAWrongClientCertificate) {
  TempDir dir;
  TestCertificates certs;
  ASSERT_TRUE(MakeCertificates(dir.path(), certs));
  ServerOptions options;
  options.tls_cert_file = certs.server_cert;
  options.tls_key_file = certs.server_key;
  options.client_ca_file = certs.ca;
  StartServer(options);
  auto client = [&](const std::filesystem::path& cert, const std::filesystem::path& key) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(certs.ca);
    if (!cert.empty()) {
      ssl.pem_cert_chain = ReadFile(cert);
      ssl.pem_private_key = ReadFile(key);
    }
    return Stub(grpc::SslCredentials(ssl));
  };
  v1::ScanResponse response;
  const grpc::Status good = Scan(*client(certs.client_cert, certs.client_key), "letter.txt", "hello", response);
  ASSERT_TRUE(good.ok()) << good.error_message();
  EXPECT_EQ(response.verdict(), v1::VERDICT_CLEAN);
  // The certificate's name is the tenant in the decision log.
  EXPECT_EQ(log_.Events("scan").back()["tenant"], "upload-service");

  EXPECT_EQ(Scan(*client(certs.rogue_cert, certs.rogue_key), "a", "b", response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Scan(*client({}, {}), "a", "b", response).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(log_.Events("scan").size(), 1u);
}

TEST_F(ServiceTest, BearerTokensAreRequiredAndNameTheTenant) {
  TempDir dir;
  WriteFile(dir.path() / "tokens", "# token tenant\n" + kGoodToken + " acme\n" + kOtherToken + " globex\n");
  ServerOptions options;
  options.token_file = (dir.path() / "tokens").string();
  StartServer(options);
  auto stub = Stub();
  v1::ScanResponse response;
  const grpc::Status missing = Scan(*stub, "a.txt", "hello", response);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  const grpc::Status bad = Scan(*stub, "a.txt", "hello", response, "not-a-valid-token-at-all");
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(bad.error_message(), "invalid token");
  ASSERT_TRUE(Scan(*stub, "a.txt", "hello", response, kGoodToken).ok());
  EXPECT_EQ(log_.Events("scan").back()["tenant"], "acme");

  // A request may not claim another tenant than its token's.
  v1::ScanRequest request;
  request.set_filename("a.txt");
  request.mutable_context()->set_tenant("globex");
  EXPECT_EQ(stub->Scan(Context(5s, kGoodToken).get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  request.mutable_context()->set_tenant("acme");
  request.mutable_context()->set_upload_id("upload-42");
  EXPECT_TRUE(stub->Scan(Context(5s, kGoodToken).get(), request, &response).ok());
  EXPECT_EQ(log_.Events("scan").back()["upload_id"], "upload-42");

  const auto refused = log_.Events("refused");
  ASSERT_EQ(refused.size(), 3u);
  EXPECT_EQ(refused[0]["reason"], "missing_token");
  EXPECT_EQ(refused[1]["reason"], "bad_token");
  EXPECT_EQ(refused[2]["reason"], "permission_denied");
  EXPECT_EQ(log_.Lines().back().dump().find(kGoodToken), std::string::npos);
}

TEST_F(ServiceTest, FiveFailuresLockTheClientOutForTheConfiguredPeriod) {
  TempDir dir;
  WriteFile(dir.path() / "tokens", kGoodToken + " acme\n");
  ServerOptions options;
  options.token_file = (dir.path() / "tokens").string();
  options.lockout_period = 2s;
  StartServer(options);
  auto stub = Stub();
  v1::ScanResponse response;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Scan(*stub, "a.txt", "hello", response, "wrong-token-wrong-token-" + std::to_string(i)).error_message(),
              "invalid token");
  }
  const auto locked_at = std::chrono::steady_clock::now();
  const grpc::Status locked = Scan(*stub, "a.txt", "hello", response, kGoodToken);
  EXPECT_EQ(locked.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(locked.error_message(), "too many failed attempts: locked out, retry later");
  EXPECT_NE(server_->MetricsText().find("tollgate_rejected_total{reason=\"locked_out\"} 1\n"), std::string::npos);
  std::this_thread::sleep_until(locked_at + 2100ms);
  EXPECT_TRUE(Scan(*stub, "a.txt", "hello", response, kGoodToken).ok());
}

TEST_F(ServiceTest, HealthIsNotServingUntilRulesLoadAndOnShutdown) {
  StartServer({}, /*serve=*/false);
  EXPECT_EQ(Health(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Health("tollgate.v1.Scanner"), HealthCheckResponse::NOT_SERVING);
  v1::ScanResponse response;
  EXPECT_EQ(Scan(*Stub(), "a.txt", "hello", response).error_code(), grpc::StatusCode::UNAVAILABLE);

  Serve();
  EXPECT_EQ(Health(""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Health("tollgate.v1.Scanner"), HealthCheckResponse::SERVING);
  EXPECT_TRUE(Scan(*Stub(), "a.txt", "hello", response).ok());

  auto health = grpc::health::v1::Health::NewStub(Channel());
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + 20s);
  HealthCheckRequest request;
  request.set_service("tollgate.v1.Scanner");
  auto watch = health->Watch(&watch_context, request);
  HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVING);
  auto shutdown = std::async(std::launch::async, [this] { server_->Shutdown(); });
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);
  watch_context.TryCancel();
  EXPECT_EQ(shutdown.wait_for(5s), std::future_status::ready);
}

TEST_F(ServiceTest, ShutdownLetsCallsInFlightFinish) {
  StartServer();
  auto stub = Stub();
  v1::ScanResponse response;
  auto context = Context();
  auto writer = stub->ScanStream(context.get(), &response);
  v1::ScanChunk message;
  message.mutable_metadata()->set_filename("eicar.com");
  ASSERT_TRUE(writer->Write(message));
  message.set_data(kEicar.substr(0, 20));
  ASSERT_TRUE(writer->Write(message));
  WaitForInFlight(1);

  auto health = grpc::health::v1::Health::NewStub(Channel());
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + 20s);
  auto watch = health->Watch(&watch_context, HealthCheckRequest());
  HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  ASSERT_EQ(update.status(), HealthCheckResponse::SERVING);

  auto shutdown = std::async(std::launch::async, [this] { server_->Shutdown(); });
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);
  watch_context.TryCancel();
  EXPECT_EQ(shutdown.wait_for(300ms), std::future_status::timeout) << "Shutdown must wait for the call in flight";

  message.set_data(kEicar.substr(20));
  ASSERT_TRUE(writer->Write(message));
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.verdict(), v1::VERDICT_MALICIOUS);
  EXPECT_EQ(shutdown.wait_for(5s), std::future_status::ready);
  EXPECT_NE(Scan(*stub, "a.txt", "hello", response).error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(log_.Events("stopped").at(0)["in_flight"], 0);
}

TEST_F(ServiceTest, MetricsEndpointServesPrometheusText) {
  ServerOptions options;
  options.metrics_listen = "127.0.0.1:0";
  StartServer(options);
  v1::ScanResponse response;
  auto stub = Stub();
  ASSERT_TRUE(Scan(*stub, "eicar.com", kEicar, response).ok());
  ASSERT_TRUE(Scan(*stub, "letter.txt", "hello", response).ok());
  ASSERT_NE(server_->metrics_port(), 0);
  const std::string http = HttpGet(server_->metrics_port(), "/metrics");
  ASSERT_TRUE(http.starts_with("HTTP/1.1 200 OK\r\n")) << http;
  EXPECT_NE(http.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  for (const std::string line :
       {"tollgate_scans_total{verdict=\"malicious\"} 1", "tollgate_scans_total{verdict=\"clean\"} 1",
        "tollgate_scan_duration_seconds_count 2", "tollgate_scanned_bytes_total 73",
        "tollgate_findings_total{engine=\"yara\"} 1", "tollgate_findings_total{engine=\"clamav\"} 1",
        "tollgate_findings_total{engine=\"hyperscan\"} 1", "tollgate_rules_load_seconds 0.25",
        "tollgate_scans_in_flight 0", "tollgate_rejected_total{reason=\"bad_token\"} 0",
        "# TYPE tollgate_scan_duration_seconds histogram"}) {
    EXPECT_NE(http.find(line + "\n"), std::string::npos) << line << "\n" << http;
  }
  auto scanner = MakeScanner({});
  EXPECT_NE(http.find("tollgate_rules_info{version=\"" + scanner->setup().rules_version() + "\"} 1\n"), std::string::npos);
  EXPECT_EQ(http.find("Tollgate_EICAR"), std::string::npos) << "signature names are never labels";
  EXPECT_TRUE(HttpGet(server_->metrics_port(), "/other").starts_with("HTTP/1.1 404"));
}

TEST_F(ServiceTest, PlainTextIsOnlyServedOnLoopbackUnlessForced) {
  ServerOptions options;
  options.listen = "0.0.0.0:0";
  options.log = log_.file();
  auto refused = ScanServer::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("--listen 0.0.0.0:0 is not a loopback address"), std::string::npos)
      << refused.status().message();
  options.listen = "[::]:0";
  EXPECT_EQ(ScanServer::Start(options).status().code(), StatusCode::kInvalidArgument);
  options.listen = "127.0.0.1:0";
  options.metrics_listen = "0.0.0.0:0";
  const auto metrics_refused = ScanServer::Start(options);
  EXPECT_EQ(metrics_refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(metrics_refused.status().message().find("--metrics 0.0.0.0:0 is not a loopback address"), std::string::npos);
  // With TLS any address is allowed (not bound here: tests stay on loopback).
}

}  // namespace
}  // namespace tollgate::testing
