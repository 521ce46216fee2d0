// Hot reload for a long-running scanner (`tollgate serve --rules-store`): follows a rules store's
// active version. A change is noticed through inotify on the store folder (the `current` link is
// replaced with rename(2)) or Reload() (SIGHUP); the next Scanner is built on the reloader's own
// thread and handed over whole, so every verdict comes from exactly one version. A version that does
// not load is reported and skipped.
//
// Memory: building next to the running Scanner ("overlap") costs the running process its steady
// state plus one more build, which is about twice the rules. Large rule sets cannot afford that, so
// the reloader measures what each build costs (the rise of the peak RSS during Scanner::Create) and,
// when the next build would take the process above `memory_budget` times its current size, it
// drains first: new scans wait, scans in flight finish, the running Scanner is released, and only
// then is the next one built (scans wait for the build; none is refused).
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
  uint64_t rss_before = 0;  // bytes, just before the build (after the drain, if any)
  uint64_t peak_rss = 0;    // the process's peak during the build
};

struct ReloadHooks {
  // Takes over a Scanner built from the new active version; called on the reloader's thread.
  std::function<void(std::unique_ptr<Scanner> scanner, std::chrono::duration<double> load_time)> install;
  // Returns once no scan uses the running Scanner and it is released; scans that arrive meanwhile
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

  // Builds the Scanner of the store's active version, measuring its cost; call once, before Start().
  StatusOr<std::unique_ptr<Scanner>> BuildInitial();
  // Starts watching the store; a version published since BuildInitial() is picked up at once.
  Status Start();
  // Checks the store now, as an inotify event would; returns at once.
  void Reload();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The process's resident set size and its peak since the last ResetPeakRss(), in bytes (Linux).
uint64_t CurrentRss();
uint64_t PeakRss();
void ResetPeakRss();

}  // namespace tollgate::rules
