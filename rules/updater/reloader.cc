#include "reloader.h"

#include <malloc.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "store.h"

namespace tollgate::rules {
namespace fs = std::filesystem;
namespace {

// "Pss:   1234 kB" of /proc/<pid>/smaps_rollup, in bytes; 0 for a process that is gone.
uint64_t ProportionalSetSize(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("Pss:")) return std::stoull(line.substr(4)) * 1024;
  }
  return 0;
}

// The parent of `pid` from /proc/<pid>/stat ("pid (comm) state ppid ..."; comm may hold spaces).
pid_t ParentOf(const fs::path& stat_file) {
  std::ifstream in(stat_file);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  const size_t end_of_comm = text.rfind(')');
  if (end_of_comm == std::string::npos) return -1;
  std::istringstream fields(text.substr(end_of_comm + 1));
  char state = 0;
  pid_t parent = -1;
  fields >> state >> parent;
  return parent;
}

// Samples ServiceMemory() every few milliseconds while it lives: the peak of a build that happens
// in another process (a sandbox zygote) too.
class MemorySampler {
 public:
  MemorySampler() : peak_(ServiceMemory()), thread_([this] { Sample(); }) {}
  ~MemorySampler() { Stop(); }
  uint64_t Stop() {
    if (thread_.joinable()) {
      {
        std::lock_guard lock(mutex_);
        stop_ = true;
      }
      changed_.notify_all();
      thread_.join();
      peak_ = std::max(peak_, ServiceMemory());
    }
    return peak_;
  }

 private:
  void Sample() {
    std::unique_lock lock(mutex_);
    while (!changed_.wait_for(lock, std::chrono::milliseconds(5), [this] { return stop_; })) {
      peak_ = std::max(peak_, ServiceMemory());
    }
  }

  uint64_t peak_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

uint64_t ServiceMemory() {
  std::map<pid_t, std::vector<pid_t>> children;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc", error)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    children[ParentOf(entry.path() / "stat")].push_back(static_cast<pid_t>(std::stol(name)));
  }
  uint64_t total = 0;
  std::vector<pid_t> pending = {getpid()};
  while (!pending.empty()) {
    const pid_t pid = pending.back();
    pending.pop_back();
    total += ProportionalSetSize(pid);
    const auto found = children.find(pid);
    if (found != children.end()) pending.insert(pending.end(), found->second.begin(), found->second.end());
  }
  return total;
}

struct RulesReloader::Impl {
  fs::path store;
  ScannerOptions options;
  ReloadOptions reload;
  fs::path loaded;
  uint64_t last_build_cost = 0;  // peak RSS rise of the last build, bytes
  int inotify_fd = -1;
  int wake_fd = -1;  // eventfd: Reload() and the destructor
  std::atomic<bool> stopping{false};
  std::thread thread;

  ~Impl() {
    if (inotify_fd >= 0) ::close(inotify_fd);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void Wake() {
    const uint64_t one = 1;
    // Only fails when the counter would overflow, which still leaves the reloader woken.
    [[maybe_unused]] const ssize_t n = ::write(wake_fd, &one, sizeof one);
  }

  // Builds `bundle`, measuring the service's peak memory on the way.
  StatusOr<std::unique_ptr<ScanRunner>> Build(const fs::path& bundle, ReloadStats& stats) {
    // Memory freed by the previous rules is returned to the system, so what is measured is in use.
    malloc_trim(0);
    stats.bundle = bundle;
    stats.rss_before = ServiceMemory();
    ScannerOptions next = options;
    next.rules_dir = bundle.string();
    next.compiled_cache_dir = CompiledDirOf(store, bundle).string();
    MemorySampler sampler;
    const auto started = std::chrono::steady_clock::now();
    auto runner = reload.hooks.build(next);
    stats.load_time = std::chrono::steady_clock::now() - started;
    stats.peak_rss = sampler.Stop();
    // The compiler's temporaries are gone once the build is done.
    malloc_trim(0);
    if (!runner.ok()) return runner.status();
    last_build_cost = stats.peak_rss > stats.rss_before ? stats.peak_rss - stats.rss_before : 0;
    stats.rules_version = (*runner)->setup().rules_version();
    return runner;
  }

  bool ShouldDrain() const {
    switch (reload.mode) {
      case ReloadMode::kOverlap: return false;
      case ReloadMode::kDrain: return true;
      case ReloadMode::kAuto: break;
    }
    malloc_trim(0);
    const double now = static_cast<double>(ServiceMemory());
    return now + static_cast<double>(last_build_cost) > reload.memory_budget * now;
  }

  void Check() {
    auto active = ActiveBundleDir(store);
    if (!active.ok()) {
      reload.hooks.failed(store, active.status());
      return;
    }
    if (*active == loaded) return;
    ReloadStats stats;
    stats.drained = reload.hooks.drain && ShouldDrain();
    if (stats.drained) reload.hooks.drain();
    auto runner = Build(*active, stats);
    if (!runner.ok()) {
      reload.hooks.failed(*active, runner.status());
      if (!stats.drained) return;
      // Nothing serves after a drain: the version that was running comes back.
      ReloadStats again;
      again.drained = true;
      runner = Build(loaded, again);
      if (!runner.ok()) {
        reload.hooks.failed(loaded, runner.status());
        return;
      }
      stats = again;
    } else {
      loaded = *active;
    }
    if (reload.hooks.built) reload.hooks.built(stats);
    reload.hooks.install(std::move(*runner), stats.load_time);
  }

  void Run() {
    std::array<pollfd, 2> fds = {pollfd{inotify_fd, POLLIN, 0}, pollfd{wake_fd, POLLIN, 0}};
    while (!stopping.load()) {
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      bool check = false;
      if (fds[0].revents & POLLIN) check = DrainInotify();
      if (fds[1].revents & POLLIN) {
        uint64_t count = 0;
        [[maybe_unused]] const ssize_t n = ::read(wake_fd, &count, sizeof count);
        check = true;
      }
      // Events that arrive while a build runs fold into one more check afterwards.
      if (check && !stopping.load()) Check();
    }
  }

  // True when an event concerns the `current` link.
  bool DrainInotify() {
    alignas(inotify_event) std::array<char, 4096> buffer;
    bool relevant = false;
    while (true) {
      const ssize_t n = ::read(inotify_fd, buffer.data(), buffer.size());
      if (n <= 0) return relevant;
      for (ssize_t offset = 0; offset < n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer.data() + offset);
        if ((event->len > 0 && std::strcmp(event->name, "current") == 0) || (event->mask & IN_Q_OVERFLOW)) relevant = true;
        offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      }
    }
  }
};

RulesReloader::RulesReloader(fs::path store, ScannerOptions options, ReloadOptions reload)
    : impl_(std::make_unique<Impl>()) {
  impl_->store = std::move(store);
  impl_->options = std::move(options);
  impl_->reload = std::move(reload);
}

RulesReloader::~RulesReloader() {
  if (!impl_->thread.joinable()) return;
  impl_->stopping.store(true);
  impl_->Wake();
  impl_->thread.join();
}

StatusOr<std::unique_ptr<ScanRunner>> RulesReloader::BuildInitial() {
  auto active = ActiveBundleDir(impl_->store);
  if (!active.ok()) return active.status();
  ReloadStats stats;
  auto runner = impl_->Build(*active, stats);
  if (!runner.ok()) return runner.status();
  impl_->loaded = *active;
  if (impl_->reload.hooks.built) impl_->reload.hooks.built(stats);
  return runner;
}

Status RulesReloader::Start() {
  Impl& impl = *impl_;
  impl.inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  impl.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl.inotify_fd < 0 || impl.wake_fd < 0) return Internal(std::string("inotify/eventfd: ") + std::strerror(errno));
  // The link is replaced by rename (IN_MOVED_TO); IN_CREATE covers the first version of a store.
  if (::inotify_add_watch(impl.inotify_fd, impl.store.c_str(), IN_MOVED_TO | IN_CREATE) < 0) {
    return Internal("cannot watch rules store " + impl.store.string() + ": " + std::strerror(errno));
  }
  impl.thread = std::thread([&impl] { impl.Run(); });
  impl.Wake();
  return Status::Ok();
}

void RulesReloader::Reload() { impl_->Wake(); }

}  // namespace tollgate::rules
