// Where workers come from (see README.md, "Where workers come from").
//
// Forking a multi-threaded process is only safe if no other thread holds a lock the child needs;
// the server's gRPC threads allocate all the time, and GCC 12's AddressSanitizer allocator does not
// guard itself across fork(). So no worker is forked from the server. At startup, while the process
// has one thread, it forks the *fork server*. For each rules version, the fork server forks a *zygote*,
// which builds that version's Scanner (the only compiled copy of its rules) and then forks the version's workers from its single
// thread: they inherit the compiled rules copy-on-write, and nothing else runs in the zygote that
// could hold a lock. Each process dies with its parent (README.md, "Where workers come from").
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "channel.h"
#include "tollgate/scanner.h"
#include "tollgate/status.h"
#include "worker.h"

namespace tollgate::sandbox {

// Forks the fork server if it is not running yet. Call while the process has one thread (see
// PrepareSandbox in worker_pool.h); later calls return at once. A fork server that is lost later is
// replaced by executing this program again (RunForkServerIfAsked), never by forking a process that
// has threads.
Status StartForkServer();

// One rules version's zygote, seen from the server.
class Zygote {
 public:
  // Has the fork server fork a zygote, which builds a Scanner from `options` and forks workers
  // confined by `limits`. Returns once the Scanner is built, or with the error that stopped it.
  static StatusOr<std::unique_ptr<Zygote>> Start(const ScannerOptions& options, const WorkerLimits& limits);
  // Closes the channel: the zygote exits and its remaining workers die with it.
  ~Zygote() = default;

  // Forks a worker that answers jobs on `job_socket` (its end of a socketpair); returns its pid.
  StatusOr<pid_t> Fork(int job_socket);
  // Waits until the worker `pid` has ended (killed by the caller, or dead by itself) and returns its
  // wait status. The zygote reaps its workers only when asked, so a pid stays theirs until then.
  StatusOr<int> Reap(pid_t pid);
  // The engines of the Scanner it built, with their rule counts.
  const std::vector<EngineInfo>& engines() const { return engines_; }
  // Its channel, to see it hang up (the zygote has exited); only the methods above read from it.
  int channel() const { return channel_.get(); }

 private:
  explicit Zygote(UniqueFd channel) : channel_(std::move(channel)) {}
  StatusOr<int64_t> Ask(const std::string& request, int fd, const char* answer);
  // Sends `request` (none if empty: the zygote's first answer comes unasked) and returns the reply,
  // or the error it names.
  StatusOr<std::string> Call(const std::string& request, int fd);

  std::mutex mutex_;  // one request at a time on the channel
  UniqueFd channel_;
  std::vector<EngineInfo> engines_;
};

}  // namespace tollgate::sandbox
