#include "serve_command.h"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "audit_flags.h"
#include "reloader.h"
#include "scan_server.h"
#include "scanner_flags.h"

namespace tollgate::cli {
namespace {

struct ServeOptions {
  service::ServerOptions server;
  ScannerFlags scanner;
  AuditFlags audit;
  uint64_t max_message_mb = server.max_message_bytes >> 20;
  uint64_t max_upload_mb = server.max_upload_bytes >> 20;
  uint64_t lockout_seconds = static_cast<uint64_t>(server.lockout_period.count());
  uint64_t shutdown_grace_ms = static_cast<uint64_t>(server.shutdown_grace.count());
  uint64_t receive_idle_ms = static_cast<uint64_t>(server.receive_idle.count());
  uint64_t max_upload_ms = static_cast<uint64_t>(server.max_upload_time.count());
  rules::ReloadMode reload_mode = rules::ReloadMode::kAuto;
  double reload_memory_budget = rules::ReloadOptions().memory_budget;
};

// Waits for SIGTERM/SIGINT (stop) and SIGHUP (reload the rules) on a thread of its own with
// sigwait(), so nothing runs inside a signal handler. Construct it before any other thread starts:
// the signals are blocked in every thread created afterwards (gRPC's, TBB's), and only this one
// takes them.
class Signals {
 public:
  Signals() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGTERM);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    thread_ = std::thread([this] {
      for (int signal = 0; sigwait(&signals_, &signal) == 0 && signal == SIGHUP;) {
        std::lock_guard lock(mutex_);
        if (on_reload_) on_reload_();
      }
      std::lock_guard lock(mutex_);
      stop_ = true;
      changed_.notify_all();
    });
  }
  ~Signals() {
    // Wakes the waiting thread when no signal came (e.g. startup failed).
    if (!stop_requested()) pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }
  Signals(const Signals&) = delete;
  Signals& operator=(const Signals&) = delete;

  // What SIGHUP does from now on; an empty function ignores it.
  void OnReload(std::function<void()> reload) {
    std::lock_guard lock(mutex_);
    on_reload_ = std::move(reload);
  }
  bool stop_requested() {
    std::lock_guard lock(mutex_);
    return stop_;
  }
  void WaitForStop() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return stop_; });
  }

 private:
  sigset_t signals_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::function<void()> on_reload_;
  bool stop_ = false;
};

nlohmann::json Describe(const rules::ReloadStats& stats) {
  return {{"bundle", stats.bundle.string()},
          {"drained", stats.drained},
          {"rss_before_mb", static_cast<double>(stats.rss_before) / (1 << 20)},
          {"peak_rss_mb", static_cast<double>(stats.peak_rss) / (1 << 20)}};
}

// Serves the rules store's active version and follows it: a version published by `tollgate rules
// update` or `rollback` is noticed through inotify (or SIGHUP) and swapped in without stopping.
std::unique_ptr<rules::RulesReloader> FollowStore(const ServeOptions& options, service::ScanServer& server,
                                                  Signals& signals, Status& error) {
  // Written by the reloader's `built` just before its `install` or its first build, on one thread.
  auto last_build = std::make_shared<rules::ReloadStats>();
  rules::ReloadOptions reload;
  reload.mode = options.reload_mode;
  reload.memory_budget = options.reload_memory_budget;
  reload.hooks.built = [last_build](const rules::ReloadStats& stats) { *last_build = stats; };
  // Each rules version gets workers of its own, forked from its zygote: scans in flight finish on
  // the old workers, which go with the old snapshot.
  reload.hooks.build = [&options](const ScannerOptions& version) {
    return MakeRunner(version, options.scanner, options.server.max_concurrent, options.server.verdict_cache);
  };
  reload.hooks.install = [&server, last_build](std::unique_ptr<ScanRunner> runner,
                                               std::chrono::duration<double> load_time) {
    server.SwapScanner(std::move(runner), load_time, Describe(*last_build));
  };
  reload.hooks.drain = [&server] { server.DrainScanner(); };
  reload.hooks.failed = [&server](const std::filesystem::path& bundle, const Status& failure) {
    server.ReloadFailed(bundle.string(), failure);
  };
  auto reloader = std::make_unique<rules::RulesReloader>(options.scanner.rules_store,
                                                         ToScannerOptions(options.scanner), std::move(reload));
  auto initial = reloader->BuildInitial();
  if (!initial.ok()) {
    error = initial.status();
    return nullptr;
  }
  if (signals.stop_requested()) return reloader;
  server.SetScanner(std::move(*initial), last_build->load_time);
  if (error = reloader->Start(); !error.ok()) return nullptr;
  signals.OnReload([reloader = reloader.get()] { reloader->Reload(); });
  server.OnReloadRequest([reloader = reloader.get()] { reloader->Reload(); });
  return reloader;
}

int RunServe(ServeOptions& options) {
  if (Status sandbox = PrepareSandbox(options.scanner); !sandbox.ok()) {
    fmt::print(stderr, "tollgate: cannot start the parser sandbox: {}\n", sandbox.ToString());
    return 2;
  }
  Signals signals;
  options.server.max_message_bytes = options.max_message_mb << 20;
  options.server.max_upload_bytes = options.max_upload_mb << 20;
  options.server.lockout_period = std::chrono::seconds(options.lockout_seconds);
  options.server.shutdown_grace = std::chrono::milliseconds(options.shutdown_grace_ms);
  options.server.receive_idle = std::chrono::milliseconds(options.receive_idle_ms);
  options.server.max_upload_time = std::chrono::milliseconds(options.max_upload_ms);
  // One cache for every rules version: entries of another version never match.
  options.server.verdict_cache = MakeVerdictCache(options.scanner);
  // Opened first, so a server that cannot keep its audit log never answers a call.
  auto audit_log = OpenAuditLog(options.audit);
  if (!audit_log.ok()) {
    fmt::print(stderr, "tollgate: cannot open the audit log: {}\n", audit_log.status().ToString());
    return 2;
  }
  options.server.audit = audit_log->get();
  auto server = service::ScanServer::Start(options.server);
  if (!server.ok()) {
    fmt::print(stderr, "tollgate: cannot serve: {}\n", server.status().ToString());
    return 2;
  }
  // Listening already (NOT_SERVING), so health checks can tell "loading" from "down".
  std::unique_ptr<rules::RulesReloader> reloader;
  if (!options.scanner.rules_store.empty()) {
    Status error;
    reloader = FollowStore(options, **server, signals, error);
    if (!reloader) {
      fmt::print(stderr, "tollgate: cannot serve the rules store: {}\n", error.ToString());
      return 2;
    }
  } else {
    const auto started = std::chrono::steady_clock::now();
    auto runner = MakeRunner(ToScannerOptions(options.scanner), options.scanner, options.server.max_concurrent,
                             options.server.verdict_cache);
    if (!runner.ok()) {
      fmt::print(stderr, "tollgate: cannot start the scanner: {}\n", runner.status().ToString());
      return 2;
    }
    if (!signals.stop_requested()) (*server)->SetScanner(std::move(*runner), std::chrono::steady_clock::now() - started);
  }
  // clamd's SHUTDOWN, when allowed, stops the server as SIGTERM does.
  (*server)->OnShutdownRequest([] { ::kill(::getpid(), SIGTERM); });
  signals.WaitForStop();
  // No reload starts once the server stops; one in progress finishes first.
  signals.OnReload({});
  (*server)->OnReloadRequest({});
  reloader.reset();
  (*server)->Shutdown();
  if (*audit_log) {
    if (Status closed = (*audit_log)->Close(); !closed.ok()) {
      fmt::print(stderr, "tollgate: the audit log could not be closed cleanly: {}\n", closed.ToString());
      return 2;
    }
  }
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ServeOptions>();
  service::ServerOptions& server = options->server;
  CLI::App* serve = app.add_subcommand("serve", "Serve scans over gRPC (tollgate.v1.Scanner, health, reflection)");
  serve->add_option("--listen", server.listen, "HOST:PORT to serve gRPC on (port 0: any free port; none: no gRPC)")
      ->capture_default_str();
  CLI::Option* cert = serve->add_option("--tls-cert", server.tls_cert_file, "TLS certificate chain (PEM)")
                          ->check(CLI::ExistingFile);
  CLI::Option* key = serve->add_option("--tls-key", server.tls_key_file, "TLS private key (PEM)")->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  serve->add_option("--client-ca", server.client_ca_file, "Require client certificates signed by this CA (mutual TLS)")
      ->check(CLI::ExistingFile)
      ->needs(cert);
  serve->add_option("--token-file", server.token_file,
                    "Bearer tokens: one `TOKEN TENANT` per line, # comments; calls without a listed token are refused")
      ->check(CLI::ExistingFile);
  serve->add_option("--metrics", server.metrics_listen, "HOST:PORT for Prometheus metrics at /metrics");
  serve->add_option("--clamd-listen", server.clamd.listen,
                    "Also answer the clamd protocol at unix:/PATH or tcp:HOST:PORT (repeatable); --listen none: only there");
  serve->add_option("--clamd-scan-root", server.clamd.scan_roots,
                    "clamd SCAN/CONTSCAN/MULTISCAN/ALLMATCHSCAN may read files below this folder (repeatable); "
                    "symbolic links are never followed")
      ->check(CLI::ExistingDirectory);
  serve->add_flag("--clamd-allow-shutdown", server.clamd.allow_shutdown,
                  "clamd SHUTDOWN stops the server (refused otherwise)");
  serve->add_option("--clamd-socket-mode", server.clamd.socket_mode, "Octal mode of clamd unix sockets, e.g. 0660");
  serve->add_option("--clamd-socket-owner", server.clamd.socket_owner, "User owning clamd unix sockets");
  serve->add_option("--clamd-socket-group", server.clamd.socket_group, "Group of clamd unix sockets");
  serve->add_option("--clamd-max-connections", server.clamd.max_connections,
                    "clamd connections open at once, per address; more are answered ERROR")
      ->check(CLI::Range(1u, 65536u))
      ->capture_default_str();
  serve->add_flag("--allow-insecure-remote", server.allow_insecure_remote,
                  "Allow plain text (no TLS) on addresses other than loopback");
  serve->add_option("--max-concurrent", server.max_concurrent,
                    "Calls receiving or scanning at once; more get RESOURCE_EXHAUSTED")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  serve->add_option("--max-message-mb", options->max_message_mb, "Largest file in a unary Scan, and largest stream chunk, MiB")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1024}))
      ->capture_default_str();
  serve->add_option("--max-upload-mb", options->max_upload_mb, "Largest upload, MiB; larger ones get RESOURCE_EXHAUSTED")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20))
      ->capture_default_str();
  serve->add_option("--lockout-seconds", options->lockout_seconds,
                    "How long a client is locked out after 5 failed authentications")
      ->capture_default_str();
  serve->add_option("--shutdown-grace-ms", options->shutdown_grace_ms,
                    "On SIGTERM/SIGINT, how long calls in flight may take to finish")
      ->capture_default_str();
  serve->add_option("--receive-idle-ms", options->receive_idle_ms,
                    "A ScanStream that sends no chunk for this long is cancelled, freeing its slot")
      ->check(CLI::Range(uint64_t{1}, uint64_t{24} * 3600 * 1000))
      ->capture_default_str();
  serve->add_option("--max-upload-ms", options->max_upload_ms,
                    "A ScanStream whose upload takes longer than this in all is cancelled")
      ->check(CLI::Range(uint64_t{1}, uint64_t{24} * 3600 * 1000))
      ->capture_default_str();
  AddScannerFlags(*serve, options->scanner);
  const std::map<std::string, rules::ReloadMode> reload_modes = {
      {"auto", rules::ReloadMode::kAuto}, {"overlap", rules::ReloadMode::kOverlap}, {"drain", rules::ReloadMode::kDrain}};
  serve->add_option("--reload-mode", options->reload_mode,
                    "With --rules-store, how a new version is swapped in: overlap (build beside the running rules), "
                    "drain (new scans wait, scans in flight finish, the running rules are freed, then the build), "
                    "auto (overlap unless that would exceed --reload-memory-budget)")
      ->transform(CLI::CheckedTransformer(reload_modes, CLI::ignore_case))
      ->default_str("auto");
  serve->add_option("--reload-memory-budget", options->reload_memory_budget,
                    "With --reload-mode auto: the largest peak RSS during a reload, as a multiple of the RSS before it")
      ->check(CLI::Range(1.0, 16.0))
      ->capture_default_str();
  AddAuditFlags(*serve, options->audit);
  serve->callback([options, &exit_code] { exit_code = RunServe(*options); });
}

}  // namespace tollgate::cli
