#include "reloader.h"

#include <malloc.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "store.h"

namespace tollgate::rules {
namespace fs = std::filesystem;
namespace {

uint64_t StatusField(std::string_view name) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(name) && line.size() > name.size() && line[name.size()] == ':') {
      return std::stoull(line.substr(name.size() + 1)) * 1024;  // "VmRSS:   1234 kB"
    }
  }
  return 0;
}

}  // namespace

uint64_t CurrentRss() { return StatusField("VmRSS"); }
uint64_t PeakRss() { return StatusField("VmHWM"); }
void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

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

  // Builds `bundle`, measuring the peak RSS on the way.
  StatusOr<std::unique_ptr<Scanner>> Build(const fs::path& bundle, ReloadStats& stats) {
    // Memory freed by the previous Scanner is returned to the system, so RSS is what is in use.
    malloc_trim(0);
    stats.bundle = bundle;
    stats.rss_before = CurrentRss();
    ResetPeakRss();
    ScannerOptions next = options;
    next.rules_dir = bundle.string();
    next.compiled_cache_dir = CompiledDirOf(store, bundle).string();
    const auto started = std::chrono::steady_clock::now();
    auto scanner = Scanner::Create(next);
    stats.load_time = std::chrono::steady_clock::now() - started;
    stats.peak_rss = PeakRss();
    // The compiler's temporaries are gone once the build is done.
    malloc_trim(0);
    if (!scanner.ok()) return scanner.status();
    last_build_cost = stats.peak_rss > stats.rss_before ? stats.peak_rss - stats.rss_before : 0;
    stats.rules_version = (*scanner)->rules_version();
    return scanner;
  }

  bool ShouldDrain() const {
    switch (reload.mode) {
      case ReloadMode::kOverlap: return false;
      case ReloadMode::kDrain: return true;
      case ReloadMode::kAuto: break;
    }
    malloc_trim(0);
    const double now = static_cast<double>(CurrentRss());
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
    auto scanner = Build(*active, stats);
    if (!scanner.ok()) {
      reload.hooks.failed(*active, scanner.status());
      if (!stats.drained) return;
      // Nothing serves after a drain: the version that was running comes back.
      ReloadStats again;
      again.drained = true;
      scanner = Build(loaded, again);
      if (!scanner.ok()) {
        reload.hooks.failed(loaded, scanner.status());
        return;
      }
      stats = again;
    } else {
      loaded = *active;
    }
    if (reload.hooks.built) reload.hooks.built(stats);
    reload.hooks.install(std::move(*scanner), stats.load_time);
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

StatusOr<std::unique_ptr<Scanner>> RulesReloader::BuildInitial() {
  auto active = ActiveBundleDir(impl_->store);
  if (!active.ok()) return active.status();
  ReloadStats stats;
  auto scanner = impl_->Build(*active, stats);
  if (!scanner.ok()) return scanner.status();
  impl_->loaded = *active;
  if (impl_->reload.hooks.built) impl_->reload.hooks.built(stats);
  return scanner;
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
