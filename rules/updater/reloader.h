// Hot reload for a long-running scanner (`tollgate serve --rules-store`): follows a rules store's
// active version. A change is noticed through inotify on the store folder (the `current` link is
// replaced with rename(2)) or Reload() (SIGHUP); the next runner (ScanRunner: the version's rules
// compiled in this process or in a sandbox zygote) is built on the reloader's own thread and handed
// over whole, so every verdict comes from exactly one version. A version that does not load is
// reported and skipped.
//
// Memory: building next to the running rules ("overlap") costs the service its steady state plus one
// more build, which is about twice the rules. Large rule sets cannot afford that, so the reloader
// measures what each build costs (the rise of the service's memory, ServiceMemory(), at its peak
// during the build, wherever the rules are compiled) and, when the next build would take the service
// above `memory_budget` times its current size, it drains first: new scans wait, scans in flight
// finish, the running runner is released, and only then is the next one built (scans wait for the
// build; none is refused).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

#include "tollgate/scanner.h"
#include "tollgate/status.h"

namespace tollgate::rules {

enum class ReloadMode { kAuto, kOverlap, kDrain };

struct ReloadStats {
  std::filesystem::path bundle;
  std::string rules_version;
  bool drained = false;
  std::chrono::duration<double> load_time{0};
  uint64_t rss_before = 0;  // ServiceMemory() just before the build (after the drain, if any), bytes
  uint64_t peak_rss = 0;    // its peak during the build
};

struct ReloadHooks {
  // Builds the runner of a version from `options` (the server's, with that version's rules_dir and
  // compiled_cache_dir); called on the reloader's thread.
  std::function<StatusOr<std::unique_ptr<ScanRunner>>(const ScannerOptions& options)> build;
  // Takes over a runner of the new active version; called on the reloader's thread.
  std::function<void(std::unique_ptr<ScanRunner> runner, std::chrono::duration<double> load_time)> install;
  // Returns once no scan uses the running runner and it is released; scans that arrive meanwhile
  // wait for the next install. Without it the reloader always overlaps.
  std::function<void()> drain;
  // A version that did not load (the running one stays, or is rebuilt after a drain).
  std::function<void(const std::filesystem::path& bundle, const Status& error)> failed;
  // Every build's numbers, for the logs.
  std::function<void(const ReloadStats& stats)> built;
};

struct ReloadOptions {
  ReloadMode mode = ReloadMode::kAuto;
  double memory_budget = 1.5;  // kAuto: most the peak may be, as a multiple of the RSS before reloading
  ReloadHooks hooks;
};

class RulesReloader {
 public:
  // `options` are the server's (policy, limits, passwords, extra rule files); rules_dir is ignored.
  RulesReloader(std::filesystem::path store, ScannerOptions options, ReloadOptions reload);
  ~RulesReloader();  // stops watching; a build in progress finishes first
  RulesReloader(const RulesReloader&) = delete;
  RulesReloader& operator=(const RulesReloader&) = delete;

  // Builds the runner of the store's active version, measuring its cost; call once, before Start().
  StatusOr<std::unique_ptr<ScanRunner>> BuildInitial();
  // Starts watching the store; a version published since BuildInitial() is picked up at once.
  Status Start();
  // Checks the store now, as an inotify event would; returns at once.
  void Reload();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The memory the service holds, in bytes: the proportional set size of this process and every
// process it started (sandbox zygotes and workers), so pages they share count once (Linux).
uint64_t ServiceMemory();

}  // namespace tollgate::rules
