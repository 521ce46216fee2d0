// A rules store: installed bundle versions side by side and an atomic pointer to the active one.
//
//   STORE/versions/<version>/   verified bundles, exactly as signed
//   STORE/compiled/<version>/   engines' compiled rules of that version (the Hyperscan database),
//                               written by update, so scan and serve load instead of compiling
//   STORE/current               symbolic link to versions/<active version>, replaced with rename(2)
//   STORE/withdrawn             versions taken back by rollback, one per line: never installed again
//   STORE/staging/              the work area of the update in progress (emptied by the next one)
//   STORE/lock                  flock(2) target: one update or rollback at a time
//
// Readers (scan, serve) take no lock: they resolve `current` once and read that version's folder,
// which is complete and synced to disk before the link points at it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bundle.h"
#include "outcome.h"
#include "tollgate/status.h"

namespace tollgate::rules {

class Store {
 public:
  // Creates the store's folders if needed and takes its lock: kBusy when another process holds it.
  static OutcomeOr<Store> Open(const std::filesystem::path& dir);
  ~Store();
  Store(Store&& other) noexcept;
  Store& operator=(Store&&) = delete;
  Store(const Store&) = delete;

  std::optional<BundleVersion> active() const;
  std::vector<BundleVersion> installed() const;  // oldest first
  bool IsWithdrawn(const BundleVersion& version) const;
  std::filesystem::path VersionDir(const BundleVersion& version) const;
  std::filesystem::path CompiledDir(const BundleVersion& version) const;

  // A new empty folder on the store's file system for one update's work (older ones are removed).
  OutcomeOr<std::filesystem::path> NewStagingDir();
  // Moves `bundle` (a folder on the store's file system) to versions/ and makes it active.
  Outcome Publish(const std::filesystem::path& bundle, const BundleVersion& version);
  // Makes the newest kept version older than the active one active; the version it replaces is
  // withdrawn and deleted. Returns the version now active (kNoPrevious when none is kept).
  OutcomeOr<BundleVersion> Rollback();
  // Keeps the active version and the `keep - 1` newest older ones; deletes the rest.
  Outcome Prune(size_t keep);

 private:
  Store(std::filesystem::path dir, int lock_fd) : dir_(std::move(dir)), lock_fd_(lock_fd) {}
  Outcome SwitchCurrent(const BundleVersion& version);

  std::filesystem::path dir_;
  int lock_fd_ = -1;
};

// Lock-free reads for `scan`, `serve` and `rules status`.
std::optional<BundleVersion> ActiveVersion(const std::filesystem::path& store);
std::vector<BundleVersion> InstalledVersions(const std::filesystem::path& store);  // oldest first
// The active version's folder (versions/<version>, not the link, so a later switch does not move
// it under the reader); NotFound when the store has no active version.
StatusOr<std::filesystem::path> ActiveBundleDir(const std::filesystem::path& store);
// The compiled-rules folder of a version folder of `store` (ScannerOptions::compiled_cache_dir).
std::filesystem::path CompiledDirOf(const std::filesystem::path& store, const std::filesystem::path& bundle_dir);

}  // namespace tollgate::rules
