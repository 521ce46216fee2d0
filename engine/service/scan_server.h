// The gRPC scanning service (`tollgate serve`): tollgate.v1.Scanner plus the standard health service
// and server reflection, on the synchronous gRPC API.
//
// Start() listens at once with health NOT_SERVING (scans get UNAVAILABLE); SetScanner() hands over
// the loaded rules and switches to SERVING. Every scan ends in a verdict; RPC errors are kept for
// calls refused before scanning: authentication, limits, malformed requests. At most
// `max_concurrent` calls receive or scan at a time; past that a call gets RESOURCE_EXHAUSTED at once
// (with trailing metadata `tollgate-retryable: busy`), so nothing queues without bound. A client
// deadline becomes the scan's deadline, less a margin for the reply and the sandbox's kill grace
// (two fifths of the time left, at most 2 s), so a scan cut short still reaches the client as
// VERDICT_INCOMPLETE. A stream whose
// chunks stop coming for `receive_idle`, or that takes longer than `max_upload_time` to arrive, is
// cancelled (ReceiveWatch): a stalled client does not keep its slot. Shutdown() reports
// NOT_SERVING, refuses new calls and lets scan calls in flight finish within `shutdown_grace`; idle
// connections do not hold it.
#pragma once

#include <algorithm>
#include <functional>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "clamd_listener.h"
#include "tollgate/scanner.h"
#include "tollgate/verdict_cache.h"
#include "tollgate/status.h"

namespace grpc {
class Server;
}

namespace tollgate::audit {
class AuditLog;
}

namespace tollgate::service {

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";  // port 0: any free port (see ScanServer::port)
  std::string tls_cert_file, tls_key_file;
  std::string client_ca_file;              // requires and verifies client certificates (mTLS)
  std::string token_file;                  // see auth.h for the format
  std::string metrics_listen;              // empty: no metrics endpoint
  // Plain-text gRPC and the metrics endpoint listen only on loopback unless this is set.
  bool allow_insecure_remote = false;
  unsigned max_concurrent = std::max(1u, std::thread::hardware_concurrency());
  uint64_t max_message_bytes = 4ull << 20;  // largest `content` of a unary Scan / one stream chunk
  uint64_t max_upload_bytes = 256ull << 20;  // total bytes of one upload
  std::chrono::seconds lockout_period{300};
  std::chrono::milliseconds shutdown_grace{5000};
  std::chrono::milliseconds receive_idle{30000};     // longest wait for a stream's next chunk
  std::chrono::milliseconds max_upload_time{300000};  // longest a stream's upload may take in all
  std::FILE* log = stderr;
  // The tamper-evident audit log (engine/audit), owned by the caller and outliving the server: every
  // verdict is appended before it is returned (a verdict that cannot be recorded is not returned:
  // UNAVAILABLE), and every refused call, server start (SetScanner) and stop (Shutdown) is recorded.
  audit::AuditLog* audit = nullptr;
  // The verdict cache the runners given to SetScanner/SwapScanner use, for the metrics; null: none.
  std::shared_ptr<VerdictCache> verdict_cache;
  // The clamd protocol beside gRPC (clamd_listener.h); `listen` "none" leaves gRPC out.
  ClamdOptions clamd;
};

class ScanServer {
 public:
  static StatusOr<std::unique_ptr<ScanServer>> Start(const ServerOptions& options);
  ~ScanServer();
  ScanServer(const ScanServer&) = delete;
  ScanServer& operator=(const ScanServer&) = delete;

  // Call once: the server starts serving with `runner` (the sandbox's WorkerPool, or in process:
  // InProcessRunner).
  void SetScanner(std::unique_ptr<ScanRunner> runner, std::chrono::duration<double> load_time);
  // Hot reload: new scans use `runner`; scans in flight finish on the snapshot they started with, which
  // is released (with its workers) by the last of them. `details` (bundle, build figures) go into the
  // logs and the audit log.
  void SwapScanner(std::unique_ptr<ScanRunner> runner, std::chrono::duration<double> load_time,
                   nlohmann::json details);
  // For a reload that cannot afford two snapshots in memory: from now on new scans wait for the next
  // SwapScanner (none is refused unless its deadline passes); returns once the scans in flight have
  // released the running snapshot.
  void DrainScanner();
  // A rules version that did not load: logged and audited; the running snapshot stays.
  void ReloadFailed(const std::string& bundle, const Status& error);
  // What clamd's RELOAD (re-read the rules store) and SHUTDOWN do; without them, RELOAD is refused
  // and SHUTDOWN does nothing.
  void OnReloadRequest(std::function<void()> reload);
  void OnShutdownRequest(std::function<void()> shutdown);
  // Idempotent; returns when every call has finished or the grace period is over.
  void Shutdown();

  int port() const { return port_; }
  // Where each --clamd-listen address listens (a TCP port 0 resolved), in the order given.
  std::vector<std::string> clamd_addresses() const;
  int metrics_port() const;  // 0 without a metrics endpoint
  std::string MetricsText() const;

 private:
  struct State;
  class ScannerService;
  ScanServer() = default;

  std::unique_ptr<State> state_;
  std::unique_ptr<ScannerService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::unique_ptr<ClamdListener>> clamd_;
  int port_ = 0;
  std::once_flag shutdown_once_;
};

}  // namespace tollgate::service
