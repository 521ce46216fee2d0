#include "scan_server.h"

#include <condition_variable>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "address.h"
#include "auth.h"
#include "convert.h"
#include "decision_log.h"
#include "front_end.h"
#include "metrics.h"
#include "receive_watch.h"
#include "text_file.h"
#include "tollgate/audit/events.h"
#include "tollgate/audit/log_writer.h"
#include "tollgate/v1/scanner.grpc.pb.h"

namespace tollgate::service {
namespace {

using Clock = std::chrono::steady_clock;
constexpr char kServiceName[] = "tollgate.v1.Scanner";
// Room for a request's other fields next to `max_message_bytes` of content.
constexpr uint64_t kMessageOverhead = 64 << 10;
// Longest a call waits for a draining reload to install the next rules (a large bundle's build).
constexpr auto kMaxDrainWait = std::chrono::minutes(5);
// At shutdown, how long gRPC may take to send the answers of the calls that just finished.
constexpr auto kLastAnswersMargin = std::chrono::milliseconds(250);
// How often health follows the scanner's readiness (a sandbox replacing processes it lost).
constexpr auto kReadinessPoll = std::chrono::milliseconds(50);

StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServerOptions& options) {
  const bool tls = !options.tls_cert_file.empty() || !options.tls_key_file.empty();
  if (!tls) {
    if (!options.client_ca_file.empty()) return InvalidArgument("--client-ca needs --tls-cert and --tls-key");
    return grpc::InsecureServerCredentials();
  }
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
    return InvalidArgument("TLS needs both --tls-cert and --tls-key");
  }
  auto cert = ReadTextFile(options.tls_cert_file, "certificate");
  if (!cert.ok()) return cert.status();
  auto key = ReadTextFile(options.tls_key_file, "private key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions ssl(options.client_ca_file.empty()
                                            ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                            : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  if (!options.client_ca_file.empty()) {
    auto ca = ReadTextFile(options.client_ca_file, "client CA");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = std::move(*ca);
  }
  ssl.pem_key_cert_pairs.push_back({std::move(*key), std::move(*cert)});
  return grpc::SslServerCredentials(ssl);
}

// Plain text only on loopback: tokens and uploads must not cross a network unencrypted by accident.
Status CheckPlainTextAllowed(const std::string& address, std::string_view what, bool allow) {
  if (address.starts_with("unix:")) return Status::Ok();
  auto parsed = ParseHostPort(address);
  if (!parsed.ok()) return parsed.status();
  if (allow || IsLoopbackHost(parsed->host)) return Status::Ok();
  return InvalidArgument(fmt::format(
      "{} {} is not a loopback address: plain text is only served on loopback; give --tls-cert and --tls-key, "
      "or --allow-insecure-remote to serve plain text anyway",
      what, address));
}

grpc::Status ToGrpc(const Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), status.message());
}

// The client's deadline as a scan deadline, less a margin so the verdict still reaches the client:
// room for the reply and for a sandboxed worker that overruns its deadline, which the pool kills a
// second later (WorkerPoolOptions::kill_grace); else the client gets DEADLINE_EXCEEDED, not the
// incomplete verdict.
Clock::time_point ScanDeadline(const grpc::ServerContext& context) {
  const auto client_deadline = context.deadline();
  const auto now = std::chrono::system_clock::now();
  if (client_deadline - now > std::chrono::hours(24 * 365)) return Clock::time_point::max();
  const auto remaining = std::chrono::duration_cast<Clock::duration>(client_deadline - now);
  const Clock::duration margin =
      std::clamp<Clock::duration>(remaining * 2 / 5, Clock::duration::zero(), std::chrono::seconds(2));
  return Clock::now() + remaining - margin;
}

}  // namespace

struct ScanServer::State final : ScanHost {
  explicit State(const ServerOptions& server_options)
      : options(server_options),
        log(server_options.log),
        receive_watch(server_options.receive_idle, server_options.max_upload_time) {}

  // Appends to the audit log, if there is one; a record it cannot hold is also reported in the
  // decision log, and the caller decides whether to go on.
  bool Audit(const audit::Event& event) {
    if (options.audit == nullptr) return true;
    auto recorded = options.audit->Append(event);
    if (recorded.ok()) return true;
    log.Write("audit_failed", {{"type", audit::ToString(event.type)}, {"error", recorded.status().ToString()}});
    return false;
  }

  // The snapshot a new scan starts with: none before the rules load, and a drain makes new scans
  // wait (until `wait_until`, at most kMaxDrainWait) instead of failing.
  StatusOr<std::shared_ptr<const ScanRunner>> AcquireRunner(const CallInfo& call,
                                                            std::chrono::system_clock::time_point wait_until) override {
    std::shared_ptr<const ScanRunner> runner;
    {
      std::unique_lock lock(snapshot_mutex);
      const auto limit = std::min(wait_until, std::chrono::system_clock::now() + kMaxDrainWait);
      snapshot_changed.wait_until(lock, limit, [this] { return !draining || stopping.load(); });
      if (!stopping.load()) runner = snapshot;
    }
    if (runner == nullptr || !runner->Ready()) {
      const Status refused =
          runner != nullptr ? Unavailable("the sandbox is replacing processes it lost: retry in a few seconds")
          : stopping.load() ? Unavailable("the server is shutting down")
                            : Unavailable("rules are loading or reloading");
      Refuse(call, Rejection::kNotReady, refused);
      return refused;
    }
    return runner;
  }

  ConcurrencySlot TakeSlot(std::chrono::milliseconds wait) override {
    return ConcurrencySlot(concurrency, std::chrono::steady_clock::now() + wait);
  }
  RunningCalls& running_calls() override { return scan_calls; }

  StatusOr<ScanReport> ScanUpload(const CallInfo& call, const ScanRunner& runner, const UploadInfo& upload,
                                  std::span<const uint8_t> content, Clock::time_point deadline) override {
    const ScannerSetup& setup = runner.setup();
    auto scanned = runner.Run(upload.filename, content, deadline);
    if (!scanned.ok()) {
      log.Write("scan_failed", {{"protocol", ToString(call.protocol)},
                                {"rpc", call.rpc},
                                {"peer", call.peer},
                                {"error", scanned.status().ToString()}});
      return scanned.status();
    }
    const ScanReport& report = *scanned;
    // Recorded before the verdict leaves the server: one the audit log cannot hold is not returned.
    if (!Audit(audit::VerdictEvent({call.rpc, call.peer, call.tenant, upload.upload_id, upload.user_id},
                                   upload.filename, report, setup.policy_name()))) {
      return Unavailable("the verdict cannot be recorded in the audit log");
    }
    metrics.RecordScan(report, call.protocol);
    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - call.started);
    nlohmann::json deciding = nlohmann::json::array();
    for (size_t index : report.deciding) deciding.push_back(report.findings[index].rule);
    log.Write("scan", {{"protocol", ToString(call.protocol)},
                       {"rpc", call.rpc},
                       {"peer", call.peer},
                       {"tenant", call.tenant},
                       {"upload_id", upload.upload_id},
                       {"user_id", upload.user_id},
                       {"filename", upload.filename},
                       {"claimed_type", upload.claimed_type},
                       {"type", report.type.mime},
                       {"size", report.size},
                       {"sha256", report.sha256},
                       {"verdict", ToString(report.verdict)},
                       {"action", ToString(report.action)},
                       {"deciding", std::move(deciding)},
                       {"findings", report.findings.size()},
                       {"policy", setup.policy_name()},
                       {"rules_version", report.rules_version},
                       {"cached", report.cached},
                       {"scan_ms", static_cast<double>(report.duration.count()) / 1000.0},
                       {"duration_ms", static_cast<double>(elapsed.count()) / 1000.0}});
    return scanned;
  }

  void Refuse(const CallInfo& call, Rejection rejection, const Status& status) override {
    metrics.RecordRejection(rejection, call.protocol);
    log.Write("refused", {{"protocol", ToString(call.protocol)},
                          {"rpc", call.rpc},
                          {"peer", call.peer},
                          {"tenant", call.tenant},
                          {"reason", ToString(rejection)},
                          {"code", static_cast<int>(status.code())},
                          {"message", status.message()}});
    // Refused either way; an audit failure is in the decision log.
    Audit(audit::RefusedEvent({call.rpc, call.peer, call.tenant, {}, {}}, ToString(rejection),
                              static_cast<int>(status.code()), std::string(status.message())));
  }

  Status ReloadRules() override {
    std::lock_guard lock(hooks_mutex);
    if (!reload) return FailedPrecondition("this server has no rules store to reload (serve --rules-store)");
    reload();
    return Status::Ok();
  }

  void RequestShutdown() override {
    std::lock_guard lock(hooks_mutex);
    if (shutdown) shutdown();
  }

  uint64_t max_upload_bytes() const override { return options.max_upload_bytes; }
  unsigned max_concurrent() const override { return options.max_concurrent; }
  int scans_in_flight() const override { return concurrency.in_flight(); }
  int scans_waiting() const override { return concurrency.waiting(); }
  std::string rules_version() override {
    std::lock_guard lock(snapshot_mutex);
    return active_version;
  }
  std::chrono::milliseconds receive_idle() const override { return options.receive_idle; }
  std::chrono::milliseconds max_upload_time() const override { return options.max_upload_time; }
  bool shutting_down() const override { return stopping.load(); }

  // Whether the running snapshot's sandbox is replacing processes it lost (scans are refused).
  bool SandboxReplacing() {
    const std::shared_ptr<const ScanRunner> runner = CurrentScanner();
    return runner != nullptr && !runner->Ready();
  }

  // Follows the snapshot's readiness into the health service until shutdown: a load balancer stops
  // routing uploads to a replica whose sandbox cannot scan, and comes back once it can.
  void WatchReadiness(grpc::HealthCheckServiceInterface& health) {
    bool serving = true;
    while (!stopping.load()) {
      std::this_thread::sleep_for(kReadinessPoll);
      const std::shared_ptr<const ScanRunner> runner = CurrentScanner();
      // No snapshot: a reload drains, and scans wait for the next one rather than fail.
      const bool ready = runner == nullptr || runner->Ready();
      if (ready == serving || stopping.load()) continue;
      serving = ready;
      health.SetServingStatus(ready);
      health.SetServingStatus(kServiceName, ready);
      log.Write(ready ? "sandbox_restored" : "sandbox_lost", {{"serving", ready}});
    }
  }

  // The snapshot as it is now, without waiting for a drain (null before the rules load and while
  // a reload drains).
  std::shared_ptr<const ScanRunner> CurrentScanner() {
    std::lock_guard lock(snapshot_mutex);
    return snapshot;
  }

  std::string RenderMetrics() {
    const std::shared_ptr<const ScanRunner> runner = CurrentScanner();
    return metrics.Render(concurrency.in_flight(), options.verdict_cache.get(), runner ? runner->Sandbox() : SandboxStats{});
  }

  // Hands `next` to new scans; returns the version it replaces ("" before the first).
  // The snapshot's last holder (the server, or the last scan on it) frees it and says so: a drain
  // waits for that event.
  std::string Install(std::unique_ptr<ScanRunner> runner) {
    std::shared_ptr<const ScanRunner> next(runner.release(), [this](const ScanRunner* retired) {
      delete retired;
      { std::lock_guard lock(retired_mutex); }
      snapshot_retired.notify_all();
    });
    std::string previous;
    {
      std::lock_guard lock(snapshot_mutex);
      previous = std::exchange(active_version, next->setup().rules_version());
      snapshot = std::move(next);
      draining = false;
    }
    snapshot_changed.notify_all();
    return previous;
  }

  ServerOptions options;
  DecisionLog log;
  ServiceMetrics metrics;
  std::unique_ptr<Authenticator> auth;
  std::mutex retired_mutex;  // before `snapshot`: a snapshot's deleter uses them until the end
  std::condition_variable snapshot_retired;
  std::mutex snapshot_mutex;
  std::condition_variable snapshot_changed;
  std::shared_ptr<const ScanRunner> snapshot;  // guarded by snapshot_mutex, like the two below
  bool draining = false;
  std::string active_version;
  ConcurrencyLimit concurrency{static_cast<int>(options.max_concurrent)};
  RunningCalls scan_calls;  // Scan, ScanStream and clamd scan commands running
  std::atomic<bool> stopping{false};
  std::mutex hooks_mutex;
  std::function<void()> reload;    // ReloadRules; guarded by hooks_mutex, like the one below
  std::function<void()> shutdown;  // RequestShutdown
  ReceiveWatch receive_watch;
  std::thread readiness_watch;  // WatchReadiness, from the first SetScanner to Shutdown
  // Last: destroyed first, while the metrics and counters it renders still exist.
  std::unique_ptr<MetricsEndpoint> metrics_endpoint;
};

class ScanServer::ScannerService final : public v1::Scanner::Service {
 public:
  explicit ScannerService(State& state) : state_(state) {}

  grpc::Status Scan(grpc::ServerContext* context, const v1::ScanRequest* request, v1::ScanResponse* response) override {
    const RunningCall running(state_.scan_calls);
    CallInfo call{Protocol::kGrpc, "Scan", context->peer(), ""};
    std::shared_ptr<const ScanRunner> runner;
    if (grpc::Status refused = Admit(*context, call, runner); !refused.ok()) return refused;
    const ConcurrencySlot slot = state_.TakeSlot({});
    if (!slot.acquired()) return Busy(*context, call);
    if (grpc::Status refused = CheckRequest(call, runner->setup(), request->policy(), request->context());
        !refused.ok()) {
      return refused;
    }
    if (request->content().size() > state_.options.max_upload_bytes) {
      return TooLarge(call, request->content().size());
    }
    return ScanAndRespond(*context, call, *runner, request->filename(), request->content_type(), request->context(),
                          request->content(), *response);
  }

  grpc::Status ScanStream(grpc::ServerContext* context, grpc::ServerReader<v1::ScanChunk>* reader,
                          v1::ScanResponse* response) override {
    const RunningCall running(state_.scan_calls);
    CallInfo call{Protocol::kGrpc, "ScanStream", context->peer(), ""};
    std::shared_ptr<const ScanRunner> runner;
    if (grpc::Status refused = Admit(*context, call, runner); !refused.ok()) return refused;
    // The slot is held while receiving too: it bounds the memory of uploads in progress.
    const ConcurrencySlot slot = state_.TakeSlot({});
    if (!slot.acquired()) return Busy(*context, call);

    std::optional<ReceiveWatch::Upload> upload(std::in_place, state_.receive_watch, *context);
    v1::ScanChunk chunk;
    if (!reader->Read(&chunk) || !chunk.has_metadata()) {
      if (context->IsCancelled()) return Cancelled(call, *upload);
      return Refuse(call, Rejection::kInvalidArgument,
                    grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the first ScanChunk must carry metadata"));
    }
    const v1::ScanMetadata metadata = std::move(*chunk.mutable_metadata());
    if (grpc::Status refused = CheckRequest(call, runner->setup(), metadata.policy(), metadata.context());
        !refused.ok()) {
      return refused;
    }
    const uint64_t cap = state_.options.max_upload_bytes;
    if (metadata.has_size() && metadata.size() > cap) return TooLarge(call, metadata.size());

    std::string content;
    if (metadata.has_size()) content.reserve(metadata.size());
    while (reader->Read(&chunk)) {
      upload->Received();
      if (!chunk.has_data()) {
        return Refuse(call, Rejection::kInvalidArgument,
                      grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "only the first ScanChunk may carry metadata"));
      }
      if (content.size() + chunk.data().size() > cap) return TooLarge(call, content.size() + chunk.data().size());
      content += chunk.data();
    }
    // Read() also ends when the client cancels or its deadline passes: never scan half an upload.
    if (context->IsCancelled()) return Cancelled(call, *upload);
    upload.reset();  // received: the scan has its own time limit
    if (metadata.has_size() && metadata.size() != content.size()) {
      return Refuse(call, Rejection::kInvalidArgument,
                    grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 fmt::format("metadata declared {} bytes, the stream carried {}", metadata.size(),
                                             content.size())));
    }
    return ScanAndRespond(*context, call, *runner, metadata.filename(), metadata.content_type(), metadata.context(),
                          content, *response);
  }

 private:
  // Readiness and authentication, before anything is read.
  // The call keeps `runner`, its rules snapshot, to the end, whatever reloads meanwhile.
  grpc::Status Admit(grpc::ServerContext& context, CallInfo& call, std::shared_ptr<const ScanRunner>& runner) {
    auto acquired = state_.AcquireRunner(call, context.deadline());
    if (!acquired.ok()) {
      if (state_.SandboxReplacing()) context.AddTrailingMetadata("tollgate-retryable", "sandbox");
      return ToGrpc(acquired.status());
    }
    runner = std::move(*acquired);
    std::optional<std::string_view> authorization;
    const auto& metadata = context.client_metadata();
    if (const auto it = metadata.find("authorization"); it != metadata.end()) {
      authorization = std::string_view(it->second.data(), it->second.size());
    }
    std::string certificate_name;
    if (const auto auth_context = context.auth_context(); auth_context && auth_context->IsPeerAuthenticated()) {
      const auto names = auth_context->FindPropertyValues("x509_common_name");
      if (!names.empty()) certificate_name.assign(names.front().data(), names.front().size());
    }
    AuthResult result = state_.auth->Check(authorization, PeerHost(call.peer), certificate_name);
    if (!result.status.ok()) {
      const Rejection rejection = result.reason == "locked_out"  ? Rejection::kLockedOut
                                  : result.reason == "bad_token" ? Rejection::kBadToken
                                                                 : Rejection::kMissingToken;
      state_.Refuse(call, rejection, result.status);
      return ToGrpc(result.status);
    }
    call.tenant = std::move(result.tenant);
    return grpc::Status::OK;
  }

  // The policy must be the one this server applies; a claimed tenant must be the caller's.
  grpc::Status CheckRequest(CallInfo& call, const ScannerSetup& scanner, const std::string& policy,
                            const v1::UploadContext& upload) {
    if (!policy.empty() && policy != "default" && policy != scanner.policy_name()) {
      return Refuse(call, Rejection::kInvalidArgument,
                    grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 fmt::format("unknown policy \"{}\"; this server applies \"{}\"", policy,
                                             scanner.policy_name())));
    }
    if (!upload.tenant().empty()) {
      if (!call.tenant.empty() && upload.tenant() != call.tenant) {
        return Refuse(call, Rejection::kPermissionDenied,
                      grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                   "the request's tenant is not the tenant of the caller's credentials"));
      }
      // Without credentials that name a tenant, the claimed one is all there is; logged as such.
      if (call.tenant.empty()) call.tenant = upload.tenant();
    }
    return grpc::Status::OK;
  }

  grpc::Status ScanAndRespond(grpc::ServerContext& context, const CallInfo& call, const ScanRunner& runner,
                              const std::string& filename, const std::string& claimed_type,
                              const v1::UploadContext& upload, std::string_view content, v1::ScanResponse& response) {
    const auto scanned =
        state_.ScanUpload(call, runner, {filename, claimed_type, upload.upload_id(), upload.user_id()},
                          {reinterpret_cast<const uint8_t*>(content.data()), content.size()}, ScanDeadline(context));
    if (!scanned.ok()) return ToGrpc(scanned.status());
    ToProto(*scanned, runner.engines(), runner.setup().policy_name(), response);
    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - call.started);
    response.mutable_timings()->set_server_micros(static_cast<uint64_t>(elapsed.count()));
    return grpc::Status::OK;
  }

  grpc::Status Busy(grpc::ServerContext& context, const CallInfo& call) {
    context.AddTrailingMetadata("tollgate-retryable", "busy");
    return Refuse(call, Rejection::kBusy,
                  grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                               fmt::format("busy: {} scans in flight, retry later", state_.options.max_concurrent)));
  }

  grpc::Status TooLarge(const CallInfo& call, uint64_t size) {
    return Refuse(call, Rejection::kTooLarge,
                  grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                               fmt::format("upload of at least {} bytes is over the limit of {} bytes", size,
                                           state_.options.max_upload_bytes)));
  }

  grpc::Status Cancelled(const CallInfo& call) {
    return Refuse(call, Rejection::kCancelled,
                  grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled or its deadline passed"));
  }

  // A stream that ended early: the client's doing, or the receive watch's.
  grpc::Status Cancelled(const CallInfo& call, const ReceiveWatch::Upload& upload) {
    if (upload.cancelled_for() == "receive_idle") {
      return Refuse(call, Rejection::kStalled,
                    grpc::Status(grpc::StatusCode::CANCELLED,
                                 fmt::format("no chunk for {} ms: the upload stalled",
                                             state_.receive_watch.idle().count())));
    }
    if (upload.cancelled_for() == "upload_time") {
      return Refuse(call, Rejection::kStalled,
                    grpc::Status(grpc::StatusCode::CANCELLED,
                                 fmt::format("the upload took longer than {} ms",
                                             state_.receive_watch.upload().count())));
    }
    return Cancelled(call);
  }

  grpc::Status Refuse(const CallInfo& call, Rejection rejection, const grpc::Status& status) {
    state_.Refuse(call, rejection, Status(static_cast<StatusCode>(status.error_code()), status.error_message()));
    return status;
  }

  State& state_;
};

StatusOr<std::unique_ptr<ScanServer>> ScanServer::Start(const ServerOptions& options) {
  auto credentials = Credentials(options);
  if (!credentials.ok()) return credentials.status();
  const bool tls = !options.tls_cert_file.empty();
  if (!tls && options.listen != "none") {
    TOLLGATE_RETURN_IF_ERROR(CheckPlainTextAllowed(options.listen, "--listen", options.allow_insecure_remote));
  }
  if (options.listen == "none" && options.clamd.listen.empty()) {
    return InvalidArgument("--listen none needs a --clamd-listen address: the server would have no listener");
  }
  if (options.max_concurrent == 0) return InvalidArgument("--max-concurrent must be at least 1");

  std::unique_ptr<ScanServer> server(new ScanServer());
  server->state_ = std::make_unique<State>(options);
  State& state = *server->state_;
  std::optional<TokenTable> tokens;
  if (!options.token_file.empty()) {
    auto table = TokenTable::Load(options.token_file);
    if (!table.ok()) return table.status();
    tokens = std::move(*table);
  }
  state.auth = std::make_unique<Authenticator>(std::move(tokens), Lockout::Options{5, options.lockout_period, 65'536});

  std::string metrics_address;
  if (!options.metrics_listen.empty()) {
    TOLLGATE_RETURN_IF_ERROR(
        CheckPlainTextAllowed(options.metrics_listen, "--metrics", options.allow_insecure_remote));
    auto address = ParseHostPort(options.metrics_listen);
    if (!address.ok()) return address.status();
    auto endpoint = MetricsEndpoint::Start(*address, [&state] { return state.RenderMetrics(); });
    if (!endpoint.ok()) return endpoint.status();
    state.metrics_endpoint = std::move(*endpoint);
    metrics_address = fmt::format("{}:{}", address->host, state.metrics_endpoint->port());
  }

  server->service_ = std::make_unique<ScannerService>(state);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const bool grpc_listens = options.listen != "none";
  if (grpc_listens) builder.AddListeningPort(options.listen, *credentials, &server->port_);
  builder.RegisterService(server->service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<uint64_t>(options.max_message_bytes + kMessageOverhead, INT32_MAX)));
  // gRPC's own thread pool is bounded too: calls beyond it get RESOURCE_EXHAUSTED from gRPC itself.
  // Room is left above max_concurrent for the calls that are refused quickly and for health checks.
  grpc::ResourceQuota quota("tollgate");
  quota.SetMaxThreads(static_cast<int>(options.max_concurrent) * 2 + 16);
  builder.SetResourceQuota(quota);
  server->server_ = builder.BuildAndStart();
  if (!server->server_ || (grpc_listens && server->port_ == 0)) {
    return Unavailable(fmt::format("cannot listen on {}{}", options.listen,
                                   tls ? " (or the TLS certificate and key are not a valid pair)" : ""));
  }
  grpc::HealthCheckServiceInterface* health = server->server_->GetHealthCheckService();
  health->SetServingStatus(false);
  health->SetServingStatus(kServiceName, false);

  for (const std::string& address : options.clamd.listen) {
    auto listener = ClamdListener::Start(address, options.clamd, options.allow_insecure_remote, state, state.log);
    if (!listener.ok()) return listener.status();
    server->clamd_.push_back(std::move(*listener));
  }
  nlohmann::json clamd_addresses = server->clamd_addresses();
  nlohmann::json fields = {{"address", options.listen}, {"port", server->port_}, {"tls", tls},
                           {"clamd", std::move(clamd_addresses)},
                           {"client_certificates", !options.client_ca_file.empty()},
                           {"tokens", state.auth->requires_token()}, {"max_concurrent", options.max_concurrent}};
  if (!metrics_address.empty()) fields["metrics"] = metrics_address;
  state.log.Write("listening", std::move(fields));
  return server;
}

ScanServer::~ScanServer() { Shutdown(); }

void ScanServer::SetScanner(std::unique_ptr<ScanRunner> runner, std::chrono::duration<double> load_time) {
  State& state = *state_;
  state.metrics.SetRules(runner->setup().rules_version(), load_time.count(), runner->engines());
  const std::string rules_version = runner->setup().rules_version();
  const std::string policy(runner->setup().policy_name());
  // Before the first verdict can be recorded.
  state.Audit({audit::EventType::kServerStart,
               {{"address", state.options.listen},
                {"port", port_},
                {"tls", !state.options.tls_cert_file.empty()},
                {"client_certificates", !state.options.client_ca_file.empty()},
                {"tokens", state.auth->requires_token()},
                {"rules_version", rules_version},
                {"policy", policy},
                {"rules_load_seconds", load_time.count()}},
               true});
  state.Install(std::move(runner));
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  health->SetServingStatus(true);
  health->SetServingStatus(kServiceName, true);
  if (!state.readiness_watch.joinable()) {
    state.readiness_watch = std::thread([&state, health] { state.WatchReadiness(*health); });
  }
  // Logged once it is true: whoever waits for this line may scan at once.
  state.log.Write("serving", {{"rules_version", rules_version}, {"policy", policy}, {"rules_load_seconds", load_time.count()}});
}

void ScanServer::SwapScanner(std::unique_ptr<ScanRunner> runner, std::chrono::duration<double> load_time,
                             nlohmann::json details) {
  State& state = *state_;
  state.metrics.SetRules(runner->setup().rules_version(), load_time.count(), runner->engines());
  state.metrics.RecordReload(true);
  details["rules_version"] = runner->setup().rules_version();
  details["rules_load_seconds"] = load_time.count();
  details["previous_rules_version"] = state.Install(std::move(runner));
  state.Audit({audit::EventType::kRulesActivated, details, true});
  // Logged once it is true: a verdict from now on carries the new version.
  state.log.Write("rules_reloaded", std::move(details));
}

void ScanServer::DrainScanner() {
  State& state = *state_;
  std::weak_ptr<const ScanRunner> running;
  std::string version;
  {
    std::lock_guard lock(state.snapshot_mutex);
    state.draining = true;
    running = std::exchange(state.snapshot, nullptr);
    version = state.active_version;
  }
  state.log.Write("rules_draining", {{"rules_version", version}, {"in_flight", state.concurrency.in_flight()}});
  // Scans in flight hold the snapshot; the last one to finish frees it. Scan deadlines bound the wait.
  std::unique_lock lock(state.retired_mutex);
  state.snapshot_retired.wait(lock, [&] { return running.expired(); });
}

void ScanServer::ReloadFailed(const std::string& bundle, const Status& error) {
  State& state = *state_;
  state.metrics.RecordReload(false);
  std::string active;
  {
    std::lock_guard lock(state.snapshot_mutex);
    active = state.active_version;
  }
  state.log.Write("rules_reload_failed", {{"bundle", bundle}, {"error", error.ToString()}, {"rules_version", active}});
  state.Audit(audit::RulesEvent(audit::EventType::kRulesRefused, "", active,
                                fmt::format("serve: {} did not load: {}", bundle, error.ToString())));
}

void ScanServer::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    if (!server_) return;
    State& state = *state_;
    {
      std::lock_guard lock(state.snapshot_mutex);
      state.stopping.store(true);
    }
    state.snapshot_changed.notify_all();
    state.log.Write("shutdown", {{"in_flight", state.concurrency.in_flight()},
                                 {"grace_ms", state.options.shutdown_grace.count()}});
    if (state.readiness_watch.joinable()) state.readiness_watch.join();
    // NOT_SERVING first, so load balancers stop sending; then drain.
    server_->GetHealthCheckService()->Shutdown();
    for (auto& listener : clamd_) listener->StopAccepting();
    // gRPC's own drain also waits for every connected client to hang up, so one idle connection
    // would hold the server for the whole grace period: wait for the scan calls alone, then give
    // gRPC a moment to send the last answers (a handler returns before its status is sent).
    state.scan_calls.WaitUntilNone(std::chrono::steady_clock::now() + state.options.shutdown_grace);
    server_->Shutdown(std::chrono::system_clock::now() + kLastAnswersMargin);
    for (auto& listener : clamd_) listener->Stop();
    state.metrics_endpoint.reset();
    state.log.Write("stopped", {{"in_flight", state.concurrency.in_flight()}});
    // After the drain: nothing is recorded after it.
    state.Audit({audit::EventType::kServerStop,
                 {{"in_flight", state.concurrency.in_flight()}, {"grace_ms", state.options.shutdown_grace.count()}},
                 true});
  });
}

void ScanServer::OnReloadRequest(std::function<void()> reload) {
  std::lock_guard lock(state_->hooks_mutex);
  state_->reload = std::move(reload);
}

void ScanServer::OnShutdownRequest(std::function<void()> shutdown) {
  std::lock_guard lock(state_->hooks_mutex);
  state_->shutdown = std::move(shutdown);
}

std::vector<std::string> ScanServer::clamd_addresses() const {
  std::vector<std::string> addresses;
  for (const auto& listener : clamd_) addresses.push_back(listener->address());
  return addresses;
}

int ScanServer::metrics_port() const {
  return state_->metrics_endpoint ? state_->metrics_endpoint->port() : 0;
}

std::string ScanServer::MetricsText() const {
  return state_->RenderMetrics();
}

}  // namespace tollgate::service
