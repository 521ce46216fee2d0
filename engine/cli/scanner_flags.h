// The options that configure the engines (rules, policy, passwords, limits), shared by `scan` and
// `serve` so both build the same Scanner from the same flags.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "tollgate/sandbox/worker_pool.h"
#include "tollgate/scanner.h"

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
};

// Adds the flags to `command`; returns them (except --scan-timeout-ms) so a caller can make them
// exclusive with another mode.
std::vector<CLI::Option*> AddScannerFlags(CLI::App& command, ScannerFlags& flags);
ScannerOptions ToScannerOptions(const ScannerFlags& flags);
// Where `scanner` scans: a pool of sandboxed workers (`default_workers` unless --workers says), or
// this process with --no-sandbox, after a warning on stderr.
// Starts the parser sandbox's fork server, unless --no-sandbox. Call first, before any thread starts.
Status PrepareSandbox(const ScannerFlags& flags);

StatusOr<std::unique_ptr<ScanRunner>> MakeRunner(std::unique_ptr<Scanner> scanner, const ScannerFlags& flags,
                                                 unsigned default_workers);

}  // namespace tollgate::cli
