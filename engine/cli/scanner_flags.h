// The options that configure the engines (rules, policy, passwords, limits), shared by `scan` and
// `serve` so both build the same Scanner from the same flags.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "tollgate/sandbox/worker_pool.h"
#include "tollgate/scanner.h"
#include "tollgate/verdict_cache.h"

namespace tollgate::cli {

struct ScannerFlags {
  std::string rules_dir;
  std::string rules_store;  // --rules-store: a rules store's active version replaces --rules
  std::string policy_file;
  std::vector<std::string> passwords;
  std::vector<std::string> clamav_dbs, yara_files, pattern_files;
  ScanLimits limits;
  uint64_t max_layer_mb = limits.max_layer_bytes >> 20;
  uint64_t max_total_mb = limits.max_total_bytes >> 20;
  uint64_t scan_timeout_ms = static_cast<uint64_t>(limits.max_scan_time.count());
  // The parser sandbox (sandbox/README.md).
  bool no_sandbox = false;
  unsigned workers = 0;  // 0: as many as scans run at once (scan --jobs, serve --max-concurrent)
  uint64_t worker_memory_mb = sandbox::WorkerPoolOptions().memory_limit_bytes >> 20;
  unsigned worker_jobs = sandbox::WorkerPoolOptions().jobs_per_worker;
  // The verdict cache (tollgate/verdict_cache.h).
  bool no_cache = false;
  uint64_t cache_mb = 64;
};

// Adds the flags to `command`; returns them (except --scan-timeout-ms) so a caller can make them
// exclusive with another mode.
std::vector<CLI::Option*> AddScannerFlags(CLI::App& command, ScannerFlags& flags);
ScannerOptions ToScannerOptions(const ScannerFlags& flags);
// Starts the parser sandbox's fork server, unless --no-sandbox. Call first, before any thread starts.
Status PrepareSandbox(const ScannerFlags& flags);

// The verdict cache of --cache-mb; null with --no-cache.
std::shared_ptr<VerdictCache> MakeVerdictCache(const ScannerFlags& flags);

// A runner for `options`: a pool of sandboxed workers (`default_workers` unless --workers says),
// whose zygote compiles the rules, or, with --no-sandbox, this process (after a warning on stderr).
// Either way the rules are compiled once. Uploads are looked up in `cache` first, unless it is null.
// Errors: rules or policy that do not load, a sandbox that does not start.
StatusOr<std::unique_ptr<ScanRunner>> MakeRunner(const ScannerOptions& options, const ScannerFlags& flags,
                                                 unsigned default_workers, std::shared_ptr<VerdictCache> cache);

}  // namespace tollgate::cli
