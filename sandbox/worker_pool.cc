#include "tollgate/sandbox/worker_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <future>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tollgate/report_json.h"
#include "worker.h"

namespace tollgate::sandbox {
namespace {

using Clock = std::chrono::steady_clock;

// How long a new worker may take to warm up and confine itself (~0.3 s in the sanitizer build on a
// busy machine), and how often a worker that does not is forked again. A child forked while another
// thread of this process held a lock its first steps need hangs: glibc's malloc guards itself across
// fork(), GCC 12's AddressSanitizer allocator does not (seen under load in the test build).
constexpr std::chrono::milliseconds kStartTimeout{5'000};
constexpr int kStartAttempts = 3;
constexpr std::chrono::milliseconds kStuckAfter{1000};
constexpr std::chrono::milliseconds kStartPoll{50};

// How often the parent looks at a busy worker's memory.
constexpr std::chrono::milliseconds kWatchInterval{10};

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~UniqueFd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

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

// CPU time `pid` has used so far, in clock ticks; -1 when it cannot be read.
long long CpuTicks(pid_t pid) {
  std::string stat;
  if (FILE* file = std::fopen(fmt::format("/proc/{}/stat", pid).c_str(), "r")) {
    char buffer[1024];
    stat.assign(buffer, std::fread(buffer, 1, sizeof buffer, file));
    std::fclose(file);
  }
  // Fields 14 and 15 (utime, stime) follow the command name, which ends at the last ')'.
  const size_t name_end = stat.rfind(')');
  if (name_end == std::string::npos) return -1;
  unsigned long long utime = 0, stime = 0;
  if (std::sscanf(stat.c_str() + name_end + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                  &stime) != 2) {
    return -1;
  }
  return static_cast<long long>(utime + stime);
}

// Waits for a new worker's ready byte; returns what went wrong, or "" once it came. Warming up is
// all computation: a worker whose CPU time stops growing before it is ready is stuck (see
// kStartTimeout) and is given up after kStuckAfter rather than after the whole timeout.
std::string AwaitReady(pid_t pid, int socket) {
  const Clock::time_point until = Clock::now() + kStartTimeout;
  long long ticks = CpuTicks(pid);
  Clock::time_point progressed = Clock::now();
  for (;;) {
    const auto now = Clock::now();
    if (now >= until) return "no ready message in time";
    if (const long long current = CpuTicks(pid); current != ticks) {
      ticks = current;
      progressed = now;
    } else if (now - progressed > kStuckAfter) {
      return "stuck: no CPU time used for a second";
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(std::min<Clock::duration>(until - now, kStartPoll));
    pollfd ready{socket, POLLIN, 0};
    const int polled = ::poll(&ready, 1, static_cast<int>(left.count()));
    if (polled < 0 && errno == EINTR) continue;
    if (polled < 0) return std::string("poll: ") + std::strerror(errno);
    if (polled == 0) continue;
    char byte = 0;
    const ssize_t n = ::read(socket, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::string("read: ") + std::strerror(errno);
    if (n == 0) return "it exited";
    return byte == kReadyByte ? "" : "unexpected message";
  }
}

std::string SignalName(int signal) {
  const char* name = sigabbrev_np(signal);
  return name != nullptr ? fmt::format("SIG{}", name) : fmt::format("signal {}", signal);
}

}  // namespace

struct WorkerPool::Worker {
  pid_t pid = -1;
  bool reaped = false;
  UniqueFd socket;
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
  }
  // Reaps the process (it is dead or dying) and returns its wait status.
  int Wait() {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    reaped = true;
    return status;
  }
};

WorkerPool::WorkerPool(std::unique_ptr<Scanner> scanner, const WorkerPoolOptions& options)
    : scanner_(std::move(scanner)),
      options_(options),
      parent_pid_(::getpid()),
      spawner_(std::make_unique<Spawner>(*this)) {}

WorkerPool::~WorkerPool() {
  std::lock_guard lock(mutex_);
  idle_.clear();
}

StatusOr<std::unique_ptr<WorkerPool>> WorkerPool::Start(std::unique_ptr<Scanner> scanner,
                                                        const WorkerPoolOptions& options) {
  if (options.workers == 0 || options.jobs_per_worker == 0) return InvalidArgument("a worker pool needs workers and jobs");
  std::unique_ptr<WorkerPool> pool(new WorkerPool(std::move(scanner), options));
  for (unsigned i = 0; i < options.workers; ++i) {
    auto worker = pool->Spawn();
    if (!worker.ok()) return worker.status();
    pool->Release(std::move(*worker), true);
  }
  return pool;
}

// Forks on one thread that lives as long as the pool. PR_SET_PDEATHSIG fires when the *thread* that
// forked a worker ends, and callers' threads come and go (gRPC retires idle ones). The calling thread
// may also be a TBB worker (the CLI scans files in a task arena): a child forked from it would
// inherit its place in the arena and could steal the parent's pending tasks. This thread belongs to
// no arena, so a worker's scans run in an arena of their own.
class WorkerPool::Spawner {
 public:
  explicit Spawner(const WorkerPool& pool) : pool_(pool), thread_([this] { Loop(); }) {}
  ~Spawner() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    requested_.notify_all();
    thread_.join();
  }

  StatusOr<std::unique_ptr<Worker>> Spawn() {
    std::promise<StatusOr<std::unique_ptr<Worker>>> spawned;
    auto result = spawned.get_future();
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(&spawned);
    }
    requested_.notify_one();
    return result.get();
  }

 private:
  void Loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      requested_.wait(lock, [this] { return stopping_ || !requests_.empty(); });
      if (requests_.empty()) return;
      auto* request = requests_.front();
      requests_.pop_front();
      lock.unlock();
      request->set_value(pool_.SpawnHere());
      lock.lock();
    }
  }

  const WorkerPool& pool_;
  std::mutex mutex_;
  std::condition_variable requested_;
  std::deque<std::promise<StatusOr<std::unique_ptr<Worker>>>*> requests_;  // guarded by mutex_
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is ready
};

StatusOr<std::unique_ptr<WorkerPool::Worker>> WorkerPool::Spawn() const { return spawner_->Spawn(); }

StatusOr<std::unique_ptr<WorkerPool::Worker>> WorkerPool::SpawnHere() const {
  Status failure;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    auto worker = ForkWorker();
    if (worker.ok()) return worker;
    failure = worker.status();
    Log(failure.ToString());
  }
  return failure;
}

StatusOr<std::unique_ptr<WorkerPool::Worker>> WorkerPool::ForkWorker() const {
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) return Errno("socketpair");
  UniqueFd parent_end(ends[0]), child_end(ends[1]);
  const uint64_t scan_seconds =
      static_cast<uint64_t>(std::chrono::ceil<std::chrono::seconds>(scanner_->limits().max_scan_time).count());
  const WorkerLimits limits{options_.memory_limit_bytes, (scan_seconds + 1) * options_.jobs_per_worker};
  // Fork, not a fork server: this process never parses, so no parser holds a lock the child could
  // inherit; the child only scans and never touches gRPC. (The allocator is the exception above.)
  const pid_t pid = ::fork();
  if (pid < 0) return Errno("fork a worker");
  if (pid == 0) {
    parent_end.Reset();
    WorkerMain(*scanner_, child_end.get(), parent_pid_, limits);
  }
  auto worker = std::make_unique<Worker>();
  worker->pid = pid;
  worker->socket = std::move(parent_end);
  child_end.Reset();
  // The worker says it is confined before it is given any job; one that cannot confine itself exits.
  if (const std::string failure = AwaitReady(pid, worker->socket.get()); !failure.empty()) {
    ::kill(pid, SIGKILL);
    const int status = worker->Wait();
    return Unavailable(fmt::format("a sandboxed worker did not start ({}, wait status {:#x}); see its message "
                                   "above, or run with --no-sandbox", failure, status));
  }
  std::lock_guard lock(mutex_);
  live_.push_back(pid);
  ++started_;
  return worker;
}

StatusOr<std::unique_ptr<WorkerPool::Worker>> WorkerPool::Acquire(Clock::time_point deadline) const {
  std::unique_lock lock(mutex_);
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
  return worker;
}

void WorkerPool::Release(std::unique_ptr<Worker> worker, bool reusable) const {
  if (!reusable || worker->jobs >= options_.jobs_per_worker) {
    const pid_t pid = worker->pid;
    worker.reset();  // kills and reaps
    {
      std::lock_guard lock(mutex_);
      std::erase(live_, pid);
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
  const Clock::time_point scan_deadline = std::min(deadline, Clock::now() + scanner_->limits().max_scan_time);
  const Clock::time_point kill_at = scan_deadline + options_.kill_grace;
  auto unscanned = [&](std::string_view reason, std::string detail) {
    return scanner_->Unscanned(name, bytes, IncompleteFinding("tollgate", reason, ObjectPath(), std::move(detail)));
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

  // The request: its length prefix carries the memfd.
  const std::string header =
      nlohmann::json{{"name", name}, {"deadline", scan_deadline.time_since_epoch().count()}}.dump();
  const uint32_t length = static_cast<uint32_t>(header.size());
  iovec io[2] = {{const_cast<uint32_t*>(&length), sizeof length}, {const_cast<char*>(header.data()), header.size()}};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = io;
  message.msg_iovlen = 2;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&message);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  const int upload_fd = upload->get();
  std::memcpy(CMSG_DATA(cmsg), &upload_fd, sizeof upload_fd);
  ssize_t sent;
  do sent = ::sendmsg(worker->socket.get(), &message, MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  upload->Reset();

  // The reply, read while watching the clock and the worker's memory.
  const uint64_t memory_base = ResidentBytes(worker->pid);
  enum class Cause { kNone, kTimeout, kMemory } killed = Cause::kNone;
  std::string reply;
  uint32_t reply_length = 0;
  size_t received = 0;
  bool complete = sent == static_cast<ssize_t>(sizeof length + header.size());
  while (complete) {
    const auto now = Clock::now();
    if (now >= kill_at) {
      killed = Cause::kTimeout;
      break;
    }
    if (ResidentBytes(worker->pid) > memory_base + options_.memory_limit_bytes) {
      killed = Cause::kMemory;
      break;
    }
    const auto wait = std::min<Clock::duration>(kill_at - now, kWatchInterval);
    pollfd watch{worker->socket.get(), POLLIN, 0};
    const int ready = ::poll(&watch, 1, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
    if (ready < 0 && errno != EINTR) complete = false;
    if (ready <= 0) continue;
    // The length first, then the report.
    const bool in_length = received < sizeof reply_length;
    char* into = in_length ? reinterpret_cast<char*>(&reply_length) + received : reply.data() + (received - sizeof reply_length);
    const size_t want = in_length ? sizeof reply_length - received : reply_length - (received - sizeof reply_length);
    const ssize_t n = ::read(worker->socket.get(), into, want);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      complete = false;
      break;
    }
    received += static_cast<size_t>(n);
    if (received == sizeof reply_length) {
      if (reply_length > kMaxFrameBytes) {
        complete = false;
        break;
      }
      reply.resize(reply_length);
    }
    if (received >= sizeof reply_length && received == sizeof reply_length + reply_length) break;
  }

  if (complete && killed == Cause::kNone) {
    auto report = ReportFromJson(nlohmann::json::parse(reply, nullptr, false));
    if (report.ok()) {
      Release(std::move(worker), true);
      return report;
    }
  }
  // The worker failed this scan: find out how (a dead worker keeps its status through the kill),
  // then replace it.
  const bool garbled = complete && killed == Cause::kNone;
  ::kill(worker->pid, SIGKILL);
  const int status = worker->Wait();
  Release(std::move(worker), false);
  if (garbled) return unscanned("parser_crash", "the parser's worker sent no valid report");
  if (killed == Cause::kTimeout) return unscanned("timeout", "the parser did not finish before the deadline; its worker was killed");
  if (killed == Cause::kMemory) {
    return unscanned("memory_limit", fmt::format("the parser used more than {} MiB; its worker was killed",
                                                 options_.memory_limit_bytes >> 20));
  }
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    if (signal == SIGXCPU) return unscanned("timeout", "the parser's worker reached its CPU time limit");
    // Only the kernel sends SIGKILL to a worker the pool did not kill: the OOM killer or RLIMIT_CPU's hard limit.
    if (signal == SIGKILL) return unscanned("memory_limit", "the parser's worker was killed by the system");
    const std::string detail = signal == SIGSYS ? "the parser made a forbidden system call (SIGSYS)"
                                                : "the parser crashed (" + SignalName(signal) + ")";
    return unscanned("parser_crash", detail);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == kExitOutOfMemory) {
    return unscanned("memory_limit", "the parser could not allocate memory within its worker's limit");
  }
  return unscanned("parser_crash", fmt::format("the parser's worker exited (status {})", WEXITSTATUS(status)));
}

}  // namespace tollgate::sandbox
