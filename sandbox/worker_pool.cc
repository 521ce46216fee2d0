#include "tollgate/sandbox/worker_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tollgate/policy.h"
#include "tollgate/report_json.h"
#include "channel.h"
#include "worker.h"
#include "zygote.h"

namespace tollgate::sandbox {
namespace {

using Clock = std::chrono::steady_clock;

// How long a new worker may take to warm up and confine itself (~0.3 s in the sanitizer build).
constexpr std::chrono::seconds kStartTimeout{30};

// How often the parent looks at a busy worker's memory.
constexpr std::chrono::milliseconds kWatchInterval{10};

// Waits between attempts to replace a lost zygote: from the first to the last, doubling.
constexpr std::chrono::milliseconds kFirstRetry{100};
constexpr std::chrono::milliseconds kLastRetry{2000};

Status Errno(const std::string& what) { return Unavailable(what + ": " + std::strerror(errno)); }

// Resident memory of `pid` in bytes; 0 when it cannot be read (the process is gone).
uint64_t ResidentBytes(pid_t pid) {
  unsigned long long size = 0, resident = 0;
  if (FILE* statm = std::fopen(fmt::format("/proc/{}/statm", pid).c_str(), "r")) {
    if (std::fscanf(statm, "%llu %llu", &size, &resident) != 2) resident = 0;
    std::fclose(statm);
  }
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// The upload as a memfd sealed against any change: the worker maps exactly what was received.
StatusOr<UniqueFd> SealedCopy(std::span<const uint8_t> bytes) {
  UniqueFd fd(memfd_create("tollgate-upload", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (fd.get() < 0) return Errno("memfd_create");
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("write the upload to its memfd");
    done += static_cast<size_t>(n);
  }
  if (fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    return Errno("seal the upload's memfd");
  }
  return fd;
}

// ReceiveFrame, but giving up at `until`: a worker that starts a frame and stalls holds no one.
bool ReceiveFrameBy(int socket, Clock::time_point until, std::string& payload, UniqueFd& fd) {
  const auto left = std::chrono::duration_cast<std::chrono::microseconds>(until - Clock::now());
  if (left.count() <= 0) return false;
  const timeval timeout{static_cast<time_t>(left.count() / 1'000'000), static_cast<suseconds_t>(left.count() % 1'000'000)};
  if (::setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0) return false;
  return ReceiveFrame(socket, payload, fd);
}

// Waits for a new worker's ready message and maps the layer slot that comes with it; returns what
// went wrong, or "" once it came.
std::string AwaitReadyMessage(int socket, const LayerSlot*& slot) {
  std::string message;
  UniqueFd slot_fd;
  if (!ReceiveFrameBy(socket, Clock::now() + kStartTimeout, message, slot_fd)) return "it exited, or was not ready in time";
  if (message != kReadyMessage || slot_fd.get() < 0) return "unexpected message";
  void* mapped = ::mmap(nullptr, sizeof(LayerSlot), PROT_READ, MAP_SHARED, slot_fd.get(), 0);
  if (mapped == MAP_FAILED) return std::string("mmap its layer slot: ") + std::strerror(errno);
  slot = static_cast<const LayerSlot*>(mapped);
  return "";
}

// The kernel's count of processes the OOM killer has killed, machine-wide (/proc/vmstat oom_kill).
uint64_t OomKills() {
  unsigned long long kills = 0;
  if (FILE* vmstat = std::fopen("/proc/vmstat", "r")) {
    char name[64];
    unsigned long long value = 0;
    while (std::fscanf(vmstat, "%63s %llu", name, &value) == 2) {
      if (std::strcmp(name, "oom_kill") == 0) {
        kills = value;
        break;
      }
    }
    std::fclose(vmstat);
  }
  return kills;
}

// Signals a process gets from someone else, never from its own fault.
bool SentFromOutside(int signal) {
  return signal == SIGKILL || signal == SIGTERM || signal == SIGINT || signal == SIGHUP || signal == SIGQUIT;
}

// Whether the other end of `socket` is gone: a worker that died.
bool HungUp(int socket) {
  pollfd watch{socket, POLLRDHUP, 0};
  return ::poll(&watch, 1, 0) > 0 && (watch.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

// Why a worker's scan ended without a report.
enum class Cause { kNone, kTimeout, kMemory };

// The incomplete reason and detail of a scan whose worker failed: `received` a reply that was no
// report, killed by the pool (`killed`), or ended with wait status `status`.
std::pair<std::string_view, std::string> Failure(bool received, Cause killed, int status, bool oom_killed,
                                                 uint64_t memory_limit_bytes);

std::string SignalName(int signal) {
  const char* name = sigabbrev_np(signal);
  return name != nullptr ? fmt::format("SIG{}", name) : fmt::format("signal {}", signal);
}

}  // namespace

// A wait status no process ends with: the zygote could not say how a worker ended.
constexpr int kUnknownStatus = -1;

struct WorkerPool::Worker {
  std::shared_ptr<Zygote> zygote;
  pid_t pid = -1;
  bool reaped = false;
  UniqueFd socket;
  const LayerSlot* layer = nullptr;  // mapped once the worker is ready
  unsigned jobs = 0;

  Worker() = default;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  // Kills and reaps: a worker object never outlives its process, nor leaves a zombie.
  ~Worker() {
    if (!reaped) {
      ::kill(pid, SIGKILL);
      Wait();
    }
    if (layer != nullptr) ::munmap(const_cast<LayerSlot*>(layer), sizeof(LayerSlot));
  }
  // The layer it crashed in, else the layer it entered last; read once it is dead. Empty before its
  // first layer.
  std::string LastLayer() const {
    if (layer == nullptr) return "";
    const LayerPath& path = layer->crashed.length > 0 ? layer->crashed : layer->latest;
    if (path.length > sizeof path.path) return "";
    return std::string(path.path, path.length);
  }
  // Reaps the process (it is dead or dying) and returns its wait status.
  int Wait() {
    auto status = zygote->Reap(pid);
    reaped = true;
    return status.ok() ? *status : kUnknownStatus;
  }
};

Status PrepareSandbox() { return StartForkServer(); }

StatusOr<ScanReport> ReadWorkerReport(std::string_view reply, const ScannerSetup& setup) {
  auto report = ReportFromJson(nlohmann::json::parse(reply, nullptr, false));
  if (!report.ok()) return report.status();
  if (report->rules_version != setup.rules_version()) {
    return InvalidArgument(fmt::format("a report of rules version {}, not {}", report->rules_version,
                                       setup.rules_version()));
  }
  Decision decision = setup.policy().Decide(report->findings);
  report->verdict = decision.verdict;
  report->action = decision.action;
  report->deciding = std::move(decision.deciding);
  return report;
}

WorkerPool::WorkerPool(std::shared_ptr<const ScannerSetup> setup, const WorkerPoolOptions& options)
    : setup_(std::move(setup)), options_(options) {}

WorkerPool::~WorkerPool() {
  if (supervisor_.joinable()) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(stop_.get(), &one, sizeof one);
    supervisor_.join();
  }
  std::lock_guard lock(mutex_);
  idle_.clear();
}

StatusOr<std::unique_ptr<WorkerPool>> WorkerPool::Start(std::shared_ptr<const ScannerSetup> setup,
                                                        const WorkerPoolOptions& options) {
  if (options.workers == 0 || options.jobs_per_worker == 0) return InvalidArgument("a worker pool needs workers and jobs");
  std::unique_ptr<WorkerPool> pool(new WorkerPool(std::move(setup), options));
  const uint64_t scan_seconds = static_cast<uint64_t>(
      std::chrono::ceil<std::chrono::seconds>(pool->setup_->limits().max_scan_time).count());
  pool->worker_cpu_seconds_ = (scan_seconds + 1) * options.jobs_per_worker;
  auto zygote = Zygote::Start(pool->setup_->options(), {options.memory_limit_bytes, pool->worker_cpu_seconds_});
  if (!zygote.ok()) return zygote.status();
  pool->zygote_ = std::move(*zygote);
  pool->engines_ = pool->zygote_->engines();
  pool->stop_ = UniqueFd(::eventfd(0, EFD_CLOEXEC));
  if (pool->stop_.get() < 0) return Errno("eventfd");
  // All forked first, so they warm up side by side.
  std::vector<std::unique_ptr<Worker>> launched;
  for (unsigned i = 0; i < options.workers; ++i) {
    auto worker = pool->Launch();
    if (!worker.ok()) return worker.status();
    launched.push_back(std::move(*worker));
  }
  for (auto& worker : launched) {
    if (Status ready = pool->AwaitReady(*worker); !ready.ok()) return ready;
    pool->Release(std::move(worker));
  }
  WorkerPool* supervised = pool.get();
  pool->supervisor_ = std::thread([supervised] { supervised->Supervise(); });
  return pool;
}

bool WorkerPool::AwaitExit(const Zygote& zygote) const {
  // The zygote's answers are read by the callers of Fork and Reap: only its hang-up is watched.
  pollfd watch[2] = {{zygote.channel(), POLLRDHUP, 0}, {stop_.get(), POLLIN, 0}};
  while (true) {
    const int ready = ::poll(watch, 2, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0 || watch[1].revents != 0) return false;
    if (watch[0].revents != 0) return true;
  }
}

void WorkerPool::Supervise() {
  while (true) {
    std::shared_ptr<Zygote> watched;
    {
      std::lock_guard lock(mutex_);
      watched = zygote_;
    }
    if (!AwaitExit(*watched)) return;
    ready_.store(false);
    Log("the sandbox's zygote exited, and its workers with it: starting another");
    std::vector<std::unique_ptr<Worker>> dead;
    {
      std::lock_guard lock(mutex_);
      dead = std::move(idle_);
      idle_.clear();
      for (const auto& worker : dead) std::erase(live_, worker->pid);
      worker_restarts_["zygote_lost"] += dead.size();
    }
    dead.clear();  // reaped by a zygote that is gone: nothing to wait for
    for (auto wait = kFirstRetry;; wait = std::min(wait * 2, kLastRetry)) {
      auto zygote = Zygote::Start(setup_->options(), {options_.memory_limit_bytes, worker_cpu_seconds_});
      if (zygote.ok()) {
        std::lock_guard lock(mutex_);
        zygote_ = std::move(*zygote);
        ++zygote_restarts_;
        break;
      }
      Log("cannot start the sandbox's zygote again: " + zygote.status().ToString());
      pollfd stop{stop_.get(), POLLIN, 0};
      if (::poll(&stop, 1, static_cast<int>(wait.count())) != 0) return;
    }
    const size_t live = WorkerPids().size();
    for (size_t missing = options_.workers > live ? options_.workers - live : 0; missing > 0; --missing) {
      auto worker = Spawn();
      if (!worker.ok()) {
        Log("cannot start a sandboxed worker: " + worker.status().ToString());
        break;  // a scan starts the rest when it needs one
      }
      Release(std::move(*worker));
    }
    ready_.store(true);
    idle_changed_.notify_all();
  }
}

StatusOr<std::unique_ptr<WorkerPool::Worker>> WorkerPool::Launch() const {
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) return Errno("socketpair");
  UniqueFd pool_end(ends[0]), worker_end(ends[1]);
  std::shared_ptr<Zygote> zygote;
  {
    std::lock_guard lock(mutex_);
    zygote = zygote_;
  }
  auto pid = zygote->Fork(worker_end.get());
  if (!pid.ok()) return pid.status();
  auto worker = std::make_unique<Worker>();
  worker->zygote = std::move(zygote);
  worker->pid = *pid;
  worker->socket = std::move(pool_end);
  return worker;
}

// The worker says it is confined before it is given any job; one that cannot confine itself exits.
Status WorkerPool::AwaitReady(Worker& worker) const {
  if (const std::string failure = AwaitReadyMessage(worker.socket.get(), worker.layer); !failure.empty()) {
    ::kill(worker.pid, SIGKILL);
    const int status = worker.Wait();
    return Unavailable(fmt::format("a sandboxed worker did not start ({}, wait status {:#x}); see its message "
                                   "above, or run with --no-sandbox", failure, status));
  }
  std::lock_guard lock(mutex_);
  live_.push_back(worker.pid);
  ++started_;
  return Status();
}

StatusOr<std::unique_ptr<WorkerPool::Worker>> WorkerPool::Spawn() const {
  auto worker = Launch();
  if (!worker.ok()) return worker.status();
  if (Status ready = AwaitReady(**worker); !ready.ok()) return ready;
  return worker;
}

StatusOr<std::unique_ptr<WorkerPool::Worker>> WorkerPool::Acquire(Clock::time_point deadline) const {
  if (!ready_.load()) return Unavailable("the sandbox is replacing its lost zygote; retry shortly");
  std::unique_lock lock(mutex_);
  while (true) {
    while (idle_.empty()) {
      if (live_.size() < options_.workers) {
        // A replacement that failed earlier: try again for this scan.
        lock.unlock();
        return Spawn();
      }
      if (idle_changed_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty()) {
        return DeadlineExceeded("no sandboxed worker became free before the deadline");
      }
    }
    auto worker = std::move(idle_.back());
    idle_.pop_back();
    if (!HungUp(worker->socket.get())) return worker;
    // It died while idle (kill -9, the OOM killer): replaced, and no scan is lost on it.
    lock.unlock();
    const int status = worker->Wait();
    Release(std::move(worker), Failure(false, Cause::kNone, status, false, options_.memory_limit_bytes).first);
    lock.lock();
  }
}

void WorkerPool::Release(std::unique_ptr<Worker> worker, std::string_view retired_for) const {
  if (retired_for.empty() && worker->jobs >= options_.jobs_per_worker) retired_for = "recycled";
  if (!retired_for.empty()) {
    const pid_t pid = worker->pid;
    worker.reset();  // kills and reaps
    {
      std::lock_guard lock(mutex_);
      std::erase(live_, pid);
      ++worker_restarts_[std::string(retired_for)];
    }
    auto replacement = Spawn();
    if (!replacement.ok()) {
      Log("cannot replace a sandboxed worker: " + replacement.status().ToString());
      idle_changed_.notify_one();  // a waiting scan may spawn one itself
      return;
    }
    worker = std::move(*replacement);
  }
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(worker));
  }
  idle_changed_.notify_one();
}

void WorkerPool::Log(const std::string& message) const {
  if (options_.log) {
    options_.log(message);
  } else {
    std::fprintf(stderr, "tollgate: %s\n", message.c_str());
  }
}

const std::vector<EngineInfo>& WorkerPool::engines() const { return engines_; }

uint64_t WorkerPool::ZygoteRestarts() const {
  std::lock_guard lock(mutex_);
  return zygote_restarts_;
}

std::vector<pid_t> WorkerPool::WorkerPids() const {
  std::lock_guard lock(mutex_);
  return live_;
}

uint64_t WorkerPool::WorkersStarted() const {
  std::lock_guard lock(mutex_);
  return started_;
}

StatusOr<ScanReport> WorkerPool::Scan(std::string_view name, std::span<const uint8_t> bytes,
                                      Clock::time_point deadline) const {
  const Clock::time_point started = Clock::now();
  const Clock::time_point scan_deadline = std::min(deadline, started + setup_->limits().max_scan_time);
  const Clock::time_point kill_at = scan_deadline + options_.kill_grace;
  std::string failed_layer;  // the layer a failed worker was parsing, when known
  auto unscanned = [&](std::string_view reason, std::string detail) {
    Finding why = IncompleteFinding("tollgate", reason, ObjectPath(), std::move(detail));
    if (!failed_layer.empty()) why.object = failed_layer;
    return setup_->Unscanned(name, bytes, std::move(why));
  };
  auto upload = SealedCopy(bytes);
  if (!upload.ok()) return upload.status();
  auto acquired = Acquire(scan_deadline);
  if (!acquired.ok()) {
    if (acquired.status().code() == StatusCode::kDeadlineExceeded) return unscanned("timeout", acquired.status().message());
    return acquired.status();
  }
  std::unique_ptr<Worker> worker = std::move(*acquired);
  ++worker->jobs;

  // The request, with the memfd.
  const std::string header =
      nlohmann::json{{"name", name}, {"deadline", scan_deadline.time_since_epoch().count()}}.dump();
  const bool sent = SendFrame(worker->socket.get(), header, upload->get());
  upload->reset();

  // The reply. The worker answers in one go once its scan is done: until the socket is readable,
  // watch the clock and the worker's memory; then read the frame, no later than the kill time.
  const uint64_t memory_base = ResidentBytes(worker->pid);
  const uint64_t oom_kills_before = OomKills();
  Cause killed = Cause::kNone;
  bool readable = false;
  while (sent && !readable) {
    const auto now = Clock::now();
    if (now >= kill_at) {
      killed = Cause::kTimeout;
      break;
    }
    if (ResidentBytes(worker->pid) > memory_base + options_.memory_limit_bytes) {
      killed = Cause::kMemory;
      break;
    }
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(std::min<Clock::duration>(kill_at - now, kWatchInterval));
    pollfd watch{worker->socket.get(), POLLIN, 0};
    const int ready = ::poll(&watch, 1, static_cast<int>(wait.count()));
    if (ready < 0 && errno != EINTR) break;
    readable = ready > 0;
  }
  std::string reply;
  bool received = false;
  if (readable) {
    UniqueFd unexpected;
    received = ReceiveFrameBy(worker->socket.get(), kill_at, reply, unexpected);
    if (!received && Clock::now() >= kill_at) killed = Cause::kTimeout;  // a frame cut short, then silence
  }
  if (received) {
    auto report = ReadWorkerReport(reply, *setup_);
    if (report.ok()) {
      Release(std::move(worker));
      // What the sandbox added: the sealed copy, the trip to the worker and back, the report's JSON.
      const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
      report->stages.push_back({"sandbox", std::max(elapsed - report->duration, std::chrono::microseconds(0)), 1,
                                bytes.size()});
      return report;
    }
  }
  // The worker failed this scan: find out how (a dead worker keeps its status through the kill),
  // then replace it.
  ::kill(worker->pid, SIGKILL);
  const int status = worker->Wait();
  failed_layer = worker->LastLayer();
  auto [reason, detail] = Failure(received, killed, status, OomKills() > oom_kills_before, options_.memory_limit_bytes);
  Release(std::move(worker), reason);
  return unscanned(reason, std::move(detail));
}

SandboxStats WorkerPool::Sandbox() const {
  std::lock_guard lock(mutex_);
  // An idle worker that died is replaced only when a scan would take it: not alive meanwhile.
  const auto dead = std::count_if(idle_.begin(), idle_.end(), [](const auto& worker) { return HungUp(worker->socket.get()); });
  return {true, ready_.load(), live_.size() - static_cast<size_t>(dead), zygote_restarts_, worker_restarts_};
}

namespace {

std::pair<std::string_view, std::string> Failure(bool received, Cause killed, int status, bool oom_killed,
                                                 uint64_t memory_limit_bytes) {
  if (received) return {"parser_crash", "the parser's worker sent no valid report"};
  if (killed == Cause::kTimeout) return {"timeout", "the parser did not finish before the deadline; its worker was killed"};
  if (killed == Cause::kMemory) {
    return {"memory_limit", fmt::format("the parser used more than {} MiB; its worker was killed", memory_limit_bytes >> 20)};
  }
  if (status == kUnknownStatus) return {"parser_crash", "the parser's worker ended; how is not known"};
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    if (signal == SIGXCPU) return {"timeout", "the parser's worker reached its CPU time limit"};
    // The OOM killer's SIGKILL is told apart by its count; any other comes from outside (RLIMIT_CPU's
    // hard limit is never reached: SIGXCPU at the soft limit ends the worker first).
    if (signal == SIGKILL && oom_killed) return {"memory_limit", "the parser's worker was killed by the kernel's OOM killer"};
    if (SentFromOutside(signal)) {
      return {"killed", fmt::format("the parser's worker was killed from outside the sandbox ({})", SignalName(signal))};
    }
    return {"parser_crash", signal == SIGSYS ? "the parser made a forbidden system call (SIGSYS)"
                                             : "the parser crashed (" + SignalName(signal) + ")"};
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == kExitOutOfMemory) {
    return {"memory_limit", "the parser could not allocate memory within its worker's limit"};
  }
  return {"parser_crash", fmt::format("the parser's worker exited (status {})", WEXITSTATUS(status))};
}

}  // namespace

}  // namespace tollgate::sandbox
