#include "scanner_flags.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>


#include "decision_log.h"
#include "store.h"

namespace tollgate::cli {

std::vector<CLI::Option*> AddScannerFlags(CLI::App& command, ScannerFlags& flags) {
  std::vector<CLI::Option*> added = {
      command.add_option("--rules", flags.rules_dir, "Rule bundle folder replacing the shipped one (yara/, hyperscan/, clamav/)")
          ->check(CLI::ExistingDirectory),
      command.add_option("--clamav-db", flags.clamav_dbs, "Add a ClamAV database file (.cvd/.cld/.hdb/.hsb/.ndb/.ldb/.fp/.ign2...)")
          ->check(CLI::ExistingFile)
          ->allow_extra_args(false),
      command.add_option("--yara", flags.yara_files, "Add a YARA rule file")->check(CLI::ExistingFile)->allow_extra_args(false),
      command.add_option("--patterns", flags.pattern_files, "Add a Hyperscan pattern file")
          ->check(CLI::ExistingFile)
          ->allow_extra_args(false),
      command.add_option("--policy", flags.policy_file, "Policy file (TOML) mapping findings to verdicts and actions")
          ->check(CLI::ExistingFile),
      command.add_option("--password", flags.passwords, "Password to try on encrypted content, in order; repeatable")
          ->allow_extra_args(false),
      command.add_option("--max-depth", flags.limits.max_depth, "Most nested layers below a file")->capture_default_str(),
      command.add_option("--max-files", flags.limits.max_files, "Most layers in one file")->capture_default_str(),
      command.add_option("--max-layer-mb", flags.max_layer_mb, "Largest single layer, MiB")->capture_default_str(),
      command.add_option("--max-total-mb", flags.max_total_mb, "Most bytes extracted from one file, MiB")
          ->capture_default_str(),
      command.add_option("--max-ratio", flags.limits.max_expansion_ratio, "Largest expansion ratio of one layer")
          ->capture_default_str(),
  };
  added.push_back(command
                      .add_option("--rules-store", flags.rules_store,
                                  "Rules store (tollgate rules update): its active version replaces --rules")
                      ->check([](const std::string& store) {
                        auto active = rules::ActiveBundleDir(store);
                        return active.ok() ? std::string() : active.status().message();
                      })
                      ->excludes(added.front()));
  added.push_back(command.add_flag("--no-sandbox", flags.no_sandbox,
                                   "Parse files in this process instead of sandboxed workers (debugging only)"));
  added.push_back(command.add_option("--workers", flags.workers,
                                     "Sandboxed parser processes (default: as many as scans run at once)")
                      ->check(CLI::Range(1u, 1024u)));
  added.push_back(command.add_option("--worker-memory-mb", flags.worker_memory_mb,
                                     "Memory one scan may add to its worker before the worker is killed, MiB")
                      ->check(CLI::Range(uint64_t{16}, uint64_t{1} << 20))
                      ->capture_default_str());
  added.push_back(command.add_option("--worker-jobs", flags.worker_jobs, "Scans a worker runs before it is replaced")
                      ->check(CLI::Range(1u, 1u << 30))
                      ->capture_default_str());
  added.push_back(command.add_flag("--no-cache", flags.no_cache,
                                   "Scan every upload, even content already scanned under the same name and rules"));
  added.push_back(command.add_option("--cache-mb", flags.cache_mb,
                                     "Memory for the verdict cache (reports of uploads already scanned), MiB")
                      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20))
                      ->capture_default_str()
                      ->excludes(added.back()));
  command.add_option("--scan-timeout-ms", flags.scan_timeout_ms, "Time limit for one file, ms")->capture_default_str();
  return added;
}

ScannerOptions ToScannerOptions(const ScannerFlags& flags) {
  ScannerOptions options;
  options.rules_dir = flags.rules_dir;
  if (!flags.rules_store.empty()) {
    // Resolved once: the versioned folder stays put when an update switches `current` meanwhile.
    auto active = rules::ActiveBundleDir(flags.rules_store);
    options.rules_dir = active.ok() ? active->string() : flags.rules_store + "/current";
    if (active.ok()) options.compiled_cache_dir = rules::CompiledDirOf(flags.rules_store, *active).string();
  }
  options.policy_file = flags.policy_file;
  options.passwords = flags.passwords;
  for (const auto& f : flags.clamav_dbs) options.extra_rule_files.emplace_back("clamav", f);
  for (const auto& f : flags.yara_files) options.extra_rule_files.emplace_back("yara", f);
  for (const auto& f : flags.pattern_files) options.extra_rule_files.emplace_back("hyperscan", f);
  options.limits = flags.limits;
  options.limits.max_layer_bytes = flags.max_layer_mb << 20;
  options.limits.max_total_bytes = flags.max_total_mb << 20;
  options.limits.max_scan_time = std::chrono::milliseconds(flags.scan_timeout_ms);
  return options;
}

Status PrepareSandbox(const ScannerFlags& flags) { return flags.no_sandbox ? Status() : sandbox::PrepareSandbox(); }

std::shared_ptr<VerdictCache> MakeVerdictCache(const ScannerFlags& flags) {
  return flags.no_cache ? nullptr : NewLocalVerdictCache(flags.cache_mb << 20);
}

namespace {

StatusOr<std::unique_ptr<ScanRunner>> MakeUncachedRunner(const ScannerOptions& scanner_options,
                                                         const ScannerFlags& flags, unsigned default_workers) {
  if (flags.no_sandbox) {
    fmt::print(stderr, "tollgate: warning: --no-sandbox: files are parsed inside this process, unconfined\n");
    auto scanner = Scanner::Create(scanner_options);
    if (!scanner.ok()) return scanner.status();
    return InProcessRunner(std::move(*scanner));
  }
  auto setup = ScannerSetup::Create(scanner_options);
  if (!setup.ok()) return setup.status();
  sandbox::WorkerPoolOptions options;
  options.workers = flags.workers != 0 ? flags.workers : std::max(1u, default_workers);
  options.memory_limit_bytes = flags.worker_memory_mb << 20;
  options.jobs_per_worker = flags.worker_jobs;
  // One JSON object per line with its time, like serve's own log on stderr.
  options.log = [log = std::make_shared<service::DecisionLog>(stderr)](const std::string& message) {
    log->Write("sandbox_trouble", {{"message", message}});
  };
  auto pool = sandbox::WorkerPool::Start(std::move(*setup), options);
  if (!pool.ok()) return pool.status();
  return std::unique_ptr<ScanRunner>(std::move(*pool));
}

}  // namespace

StatusOr<std::unique_ptr<ScanRunner>> MakeRunner(const ScannerOptions& scanner_options, const ScannerFlags& flags,
                                                 unsigned default_workers, std::shared_ptr<VerdictCache> cache) {
  auto runner = MakeUncachedRunner(scanner_options, flags, default_workers);
  if (!runner.ok() || cache == nullptr) return runner;
  return CachingRunner(std::move(*runner), std::move(cache));
}

}  // namespace tollgate::cli
