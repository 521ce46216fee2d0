// `tollgate serve --clamd-listen ADDR`: the clamd socket protocol beside gRPC, so a client of
// clamd (clamdscan, the npm clamscan package, mail filters) scans with Tollgate by changing an
// address. Each listener serves one address ("unix:/path" or "tcp:HOST:PORT") with a thread per
// connection (at most `max_connections`), over the server's ScanHost: the same rules snapshot,
// limits, concurrency, audit log, metrics (protocol="clamd") and decision log as gRPC.
//
// What differs from clamd, on purpose:
//  - A blocked verdict is FOUND whatever made it so, incomplete ones included
//    ("Tollgate.Incomplete.encrypted FOUND"): a clamd client knows only OK and FOUND.
//  - SCAN, CONTSCAN, MULTISCAN and ALLMATCHSCAN read files only below a --clamd-scan-root, and
//    never follow a symbolic link (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS); MULTISCAN scans one
//    file at a time per connection, as CONTSCAN does.
//  - SHUTDOWN is refused unless allowed; RELOAD re-reads the rules store (as SIGHUP).
//  - Plain TCP only on loopback unless --allow-insecure-remote: the protocol has no authentication.
//  - A scan waits for a slot among --max-concurrent as clamd queues, but at most --receive-idle-ms,
//    then "... busy ERROR": never a queue without bound (--clamd-max-connections bounds its length).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tollgate/status.h"

namespace tollgate::service {

class ScanHost;
class DecisionLog;
struct CallInfo;
namespace clamd {
enum class Verb;
}

struct ClamdOptions {
  std::vector<std::string> listen;      // "unix:/path" or "tcp:HOST:PORT" (port 0: any free port)
  std::vector<std::string> scan_roots;  // folders SCAN and its kin may read below; none: refused
  bool allow_shutdown = false;          // SHUTDOWN stops the server (as SIGTERM) instead of ERROR
  std::string socket_mode;              // octal mode of unix sockets ("0660"); empty: the umask's
  std::string socket_owner;             // user (name or id) owning unix sockets; empty: this process'
  std::string socket_group;             // group (name or id) of unix sockets; empty: this process'
  unsigned max_connections = 128;       // connections open at once; more are answered ERROR and closed
};

class ClamdListener {
 public:
  static StatusOr<std::unique_ptr<ClamdListener>> Start(const std::string& address, const ClamdOptions& options,
                                                        bool allow_insecure_remote, ScanHost& host, DecisionLog& log);
  ~ClamdListener();
  ClamdListener(const ClamdListener&) = delete;
  ClamdListener& operator=(const ClamdListener&) = delete;

  // Where it listens, a TCP port 0 resolved ("tcp:127.0.0.1:41234", "unix:/run/t.sock").
  const std::string& address() const { return address_; }
  // Stops accepting; connections keep going (a scan in flight finishes).
  void StopAccepting();
  // Ends every connection and waits for their threads; removes a unix socket's file. Idempotent.
  void Stop();

  struct Connection;  // one client's socket (clamd_listener.cc)

 private:
  struct Roots;
  ClamdListener(ScanHost& host, DecisionLog& log, const ClamdOptions& options);
  void AcceptLoop();
  void Serve(Connection& connection);
  void ReapFinished();
  std::string VersionText();
  std::string StatsText();
  // Each returns false when the connection cannot go on (the client's bytes are out of step).
  bool ScanInstream(Connection& connection, const CallInfo& call);
  bool ScanFildes(Connection& connection, const CallInfo& call);
  void ScanPath(Connection& connection, const CallInfo& call, clamd::Verb verb, const std::string& path);

  ScanHost& host_;
  DecisionLog& log_;
  ClamdOptions options_;
  std::shared_ptr<const Roots> roots_;
  std::string address_;
  std::string unix_path_;  // to unlink at Stop
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: ends AcceptLoop's poll
  std::thread accept_thread_;
  std::mutex connections_mutex_;
  std::list<std::unique_ptr<Connection>> connections_;
  std::atomic<bool> stopped_{false};
};

}  // namespace tollgate::service
