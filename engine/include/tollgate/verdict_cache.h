// VerdictCache: reports of uploads already scanned, so that the same content under the same name,
// scanned with the same rules, policy, passwords and limits, costs a lookup (logos, signatures and
// forwarded attachments come again and again). Only reports are kept, never file content.
//
// Keys come from VerdictCacheKey: everything that decides a report. Reports of scans that did not
// finish for a reason of the moment (a timeout, a crashed or killed parser, an engine error) are never
// stored. A cache is thread-safe and shared by every rules snapshot of a process: an entry of another
// rules version simply never matches.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tollgate/scanner.h"

namespace tollgate {

class VerdictCache {
 public:
  virtual ~VerdictCache() = default;
  virtual std::optional<ScanReport> Find(const std::string& key) = 0;
  virtual void Store(const std::string& key, const ScanReport& report) = 0;

  // CachingRunner's lookups that found a report, and those that did not (for metrics).
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> misses{0};
};

// An in-process cache holding at most about `capacity_bytes` of reports; the least recently used go
// first.
std::shared_ptr<VerdictCache> NewLocalVerdictCache(uint64_t capacity_bytes);

// The key of an upload: its SHA-256 (hex), its name (the root's name in object paths, and YARA's
// `filename`), and the setup's fingerprint (rules version, policy, passwords, limits).
std::string VerdictCacheKey(std::string_view sha256, std::string_view name, const ScannerSetup& setup);

// Whether a report may be reused: not when part of the upload went unscanned for a reason of the
// moment (timeout, parser_crash, memory_limit, killed, engine_error).
bool IsCacheable(const ScanReport& report);

// Looks every upload up in `cache` before `runner` scans it, and stores what it scans. A report
// from the cache says so (ScanReport::cached), carries no stage times, and its duration is the
// lookup's.
std::unique_ptr<ScanRunner> CachingRunner(std::unique_ptr<ScanRunner> runner, std::shared_ptr<VerdictCache> cache);

}  // namespace tollgate
