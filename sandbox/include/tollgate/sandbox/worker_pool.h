// WorkerPool: scans uploads in pre-forked, confined worker processes (see sandbox/README.md).
//
// Start() has the sandbox's fork server start a zygote for the setup's rules, which compiles them (the
// only compiled copy: the process holding the pool keeps the setup alone) and forks `workers`
// processes that inherit them copy-on-write (see sandbox/README.md: the server itself never forks a
// worker). A worker confines itself before it reads any job:
// no new privileges, death with its parent, rlimits (address space, CPU, files, processes, cores),
// Landlock (no file outside the temp folder) and a seccomp allow-list that kills it on any other
// system call (no socket, no fork, no exec). Each upload travels as a sealed memfd (SCM_RIGHTS) with a
// small header (name, deadline); the report comes back as the JSON of report_json.h.
//
// A worker that dies (signal, forbidden system call, failed allocation), grows past its memory limit
// or outlives the scan's deadline is killed, reaped and replaced; its scan's report is `incomplete`
// with a finding Tollgate.Incomplete.<parser_crash|memory_limit|timeout|killed> (killed: by a signal
// from outside the pool, such as an operator's kill -9). Workers are also replaced
// after `jobs_per_worker` scans. One pool serves one rules snapshot: a rule update builds a new pool.
//
// The pool heals itself: when its zygote exits (the OOM killer's likely choice: it holds the
// compiled rules), its workers die with it; a supervisor thread sees the zygote's channel close,
// has a new zygote built (a new fork server first, executed afresh from this program, if that one is
// gone too: see RunForkServerIfAsked) and forks the workers again. Meanwhile Ready() is false and
// Scan() fails UNAVAILABLE at once.
//
// Thread-safe: Scan() may be called from many threads; at most `workers` scans run at once, the
// others wait for a worker (until their deadline). The destructor kills and reaps every worker.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tollgate/scanner.h"
#include "tollgate/status.h"
#include "tollgate/unique_fd.h"

namespace tollgate::sandbox {

struct WorkerPoolOptions {
  unsigned workers = std::max(1u, std::thread::hardware_concurrency());
  // How much a worker's memory may grow during one scan, beyond what it held when the scan began.
  uint64_t memory_limit_bytes = 1ull << 30;
  unsigned jobs_per_worker = 500;
  // How long past the scan's deadline a worker may take to answer before it is killed: the scanner
  // stops at the deadline by itself between layers, a stuck parser does not.
  std::chrono::milliseconds kill_grace{1000};
  // Where the pool reports trouble that does not end a scan (a worker that would not start); may be
  // called from any thread. Empty: a line on stderr.
  std::function<void(const std::string& message)> log;
};

class Zygote;

// A worker's reply as the pool returns it: the JSON of report_json.h, for `setup`'s rules version,
// with the verdict, action and deciding findings decided again here by `setup`'s policy from the
// findings. The process that serves holds the policy: a confused worker cannot call `clean` what
// its own findings block. Errors: not a report, or one of another rules version.
StatusOr<ScanReport> ReadWorkerReport(std::string_view reply, const ScannerSetup& setup);

// Starts the process the sandbox's workers come from. Call at the start of main(), while the process
// has one thread; the first WorkerPool starts it otherwise, perhaps from a busy multi-threaded
// process, which is what it is there to avoid.
Status PrepareSandbox();

// Call first in main(), with its arguments: in a process started as the sandbox's fork server (a
// replacement for one that was lost, executed from this program) it runs that and never returns.
// Calling it also tells the sandbox that this program can be executed so.
void RunForkServerIfAsked(int argc, char** argv);

class WorkerPool final : public ScanRunner {
 public:
  static StatusOr<std::unique_ptr<WorkerPool>> Start(std::shared_ptr<const ScannerSetup> setup,
                                                     const WorkerPoolOptions& options);
  ~WorkerPool() override;
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Scans `bytes` in a worker. The scan stops at `deadline` or the scanner's max_scan_time, whichever
  // comes first. Errors only when the upload cannot be handed to a worker (no memfd, no worker).
  StatusOr<ScanReport> Scan(std::string_view name, std::span<const uint8_t> bytes,
                            std::chrono::steady_clock::time_point deadline) const;

  const ScannerSetup& setup() const override { return *setup_; }
  const std::vector<EngineInfo>& engines() const override;
  bool Ready() const override { return ready_.load(); }
  SandboxStats Sandbox() const override;
  StatusOr<ScanReport> Run(std::string_view name, std::span<const uint8_t> bytes,
                           std::chrono::steady_clock::time_point deadline) const override {
    return Scan(name, bytes, deadline);
  }

  // The process ids of the live workers, idle or busy.
  std::vector<pid_t> WorkerPids() const;
  // Workers forked since Start(), replacements included.
  uint64_t WorkersStarted() const;
  // Zygotes started to replace one that exited.
  uint64_t ZygoteRestarts() const;

 private:
  struct Worker;
  WorkerPool(std::shared_ptr<const ScannerSetup> setup, const WorkerPoolOptions& options);
  // A worker forked by the zygote, not known to be confined yet.
  StatusOr<std::unique_ptr<Worker>> Launch() const;
  Status AwaitReady(Worker& worker) const;
  StatusOr<std::unique_ptr<Worker>> Spawn() const;
  StatusOr<std::unique_ptr<Worker>> Acquire(std::chrono::steady_clock::time_point deadline) const;
  // Back to the idle workers, or, when `retired_for` says why (or its jobs are done), replaced.
  void Release(std::unique_ptr<Worker> worker, std::string_view retired_for = "") const;
  void Log(const std::string& message) const;
  // Waits for the zygote to exit, then builds another and refills the pool, until the pool ends.
  void Supervise();
  // Waits for `zygote` to exit (true) or the pool to end (false).
  bool AwaitExit(const Zygote& zygote) const;

  std::shared_ptr<const ScannerSetup> setup_;
  WorkerPoolOptions options_;
  uint64_t worker_cpu_seconds_ = 0;  // each worker's RLIMIT_CPU
  std::shared_ptr<Zygote> zygote_;  // guarded by mutex_; each worker keeps its own: it reaps them
  std::vector<EngineInfo> engines_;  // what the zygotes compiled
  std::atomic<bool> ready_{true};
  UniqueFd stop_;                   // an eventfd, written when the pool ends
  std::thread supervisor_;
  mutable std::mutex mutex_;
  mutable std::condition_variable idle_changed_;
  mutable std::vector<std::unique_ptr<Worker>> idle_;  // guarded by mutex_, like the fields below
  mutable std::vector<pid_t> live_;
  mutable uint64_t started_ = 0;
  mutable std::map<std::string, uint64_t> worker_restarts_;
  uint64_t zygote_restarts_ = 0;
};

}  // namespace tollgate::sandbox
