#include "scan_command.h"

#include <fmt/format.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "human_output.h"
#include "tollgate/report_json.h"
#include "tollgate/scanner.h"

namespace tollgate::cli {
namespace fs = std::filesystem;
namespace {

struct ScanOptions {
  std::vector<std::string> paths;
  std::string rules_dir;
  std::string policy_file;
  std::vector<std::string> passwords;
  std::vector<std::string> clamav_dbs, yara_files, pattern_files;
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  bool json = false;
  ScanLimits limits;
  uint64_t max_layer_mb = limits.max_layer_bytes >> 20;
  uint64_t max_total_mb = limits.max_total_bytes >> 20;
  uint64_t scan_timeout_ms = static_cast<uint64_t>(limits.max_scan_time.count());
};

struct FileResult {
  std::string path;
  std::optional<ScanReport> report;
  std::string error;  // set when the file could not be read
};

std::string JsonLine(const nlohmann::json& json) {
  // Names inside hostile archives need not be UTF-8; replace rather than throw.
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Expands folders recursively without following symbolic links; what cannot be listed is an error.
std::vector<std::string> CollectFiles(const std::vector<std::string>& paths, std::vector<FileResult>& errors) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code ec;
    const fs::file_status status = fs::symlink_status(path, ec);
    if (ec || !fs::exists(status)) {
      errors.push_back({path, std::nullopt, "No such file or directory"});
    } else if (fs::is_symlink(status)) {
      fmt::print(stderr, "tollgate: {}: symbolic link not followed\n", path);
    } else if (fs::is_regular_file(status)) {
      files.push_back(path);
    } else if (fs::is_directory(status)) {
      fs::recursive_directory_iterator it(path, ec), end;
      for (; !ec && it != end; it.increment(ec)) {
        std::error_code entry_ec;
        if (it->is_regular_file(entry_ec) && !it->is_symlink(entry_ec)) files.push_back(it->path().string());
      }
      if (ec) errors.push_back({path, std::nullopt, "cannot list folder: " + ec.message()});
    } else {
      fmt::print(stderr, "tollgate: {}: not a regular file, skipped\n", path);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Prints results in input order as soon as every earlier file is done.
class OrderedPrinter {
 public:
  OrderedPrinter(const ScanOptions& options, size_t total)
      : options_(options), results_(total), progress_(isatty(STDERR_FILENO) == 1) {}

  void Deliver(size_t index, FileResult result) {
    std::lock_guard lock(mutex_);
    results_[index] = std::move(result);
    while (next_ < results_.size() && results_[next_]) Print(*results_[next_++]);
    if (progress_) fmt::print(stderr, "\r[{}/{}] files scanned", next_, results_.size());
  }

  void Print(const FileResult& result) {
    if (progress_) fmt::print(stderr, "\r\033[K");
    if (!result.report) {
      ++totals.errors;
      if (options_.json) {
        fmt::print("{}\n", JsonLine({{"path", result.path}, {"error", result.error}}));
      } else {
        fmt::print("{}: {} ERROR\n", result.path, result.error);
      }
      return;
    }
    const ScanReport& report = *result.report;
    ++totals.files;
    ++totals.by_verdict[static_cast<int>(report.verdict)];
    totals.bytes += report.size;
    if (report.action == Action::kBlock) ++totals.blocked;
    if (options_.json) {
      fmt::print("{}\n", JsonLine(ReportToJson(report, result.path)));
    } else {
      PrintReportLine(stdout, result.path, report);
    }
    std::fflush(stdout);
  }

  void Finish() {
    if (progress_) fmt::print(stderr, "\r\033[K");
  }

  ScanTotals totals;

 private:
  const ScanOptions& options_;
  std::mutex mutex_;
  std::vector<std::optional<FileResult>> results_;
  size_t next_ = 0;
  bool progress_;
};

nlohmann::json SummaryJson(const Scanner& scanner, const ScanTotals& totals) {
  nlohmann::json engines = nlohmann::json::object();
  for (const EngineInfo& engine : scanner.engines()) engines[engine.name] = engine.rule_count;
  const double seconds = totals.seconds > 0 ? totals.seconds : 1e-9;
  return {{"summary",
           {{"files", totals.files},
            {"blocked", totals.blocked},
            {"errors", totals.errors},
            {"clean", totals.by_verdict[static_cast<int>(Verdict::kClean)]},
            {"suspicious", totals.by_verdict[static_cast<int>(Verdict::kSuspicious)]},
            {"malicious", totals.by_verdict[static_cast<int>(Verdict::kMalicious)]},
            {"incomplete", totals.by_verdict[static_cast<int>(Verdict::kIncomplete)]},
            {"bytes", totals.bytes},
            {"seconds", totals.seconds},
            {"files_per_second", static_cast<double>(totals.files) / seconds},
            {"mb_per_second", static_cast<double>(totals.bytes) / 1e6 / seconds},
            {"rules_version", scanner.rules_version()},
            {"engines", engines}}}};
}

int RunScan(ScanOptions& options) {
  ScannerOptions scanner_options;
  scanner_options.rules_dir = options.rules_dir;
  scanner_options.policy_file = options.policy_file;
  scanner_options.passwords = options.passwords;
  for (const auto& f : options.clamav_dbs) scanner_options.extra_rule_files.emplace_back("clamav", f);
  for (const auto& f : options.yara_files) scanner_options.extra_rule_files.emplace_back("yara", f);
  for (const auto& f : options.pattern_files) scanner_options.extra_rule_files.emplace_back("hyperscan", f);
  options.limits.max_layer_bytes = options.max_layer_mb << 20;
  options.limits.max_total_bytes = options.max_total_mb << 20;
  options.limits.max_scan_time = std::chrono::milliseconds(options.scan_timeout_ms);
  scanner_options.limits = options.limits;

  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, options.jobs);
  auto scanner = Scanner::Create(scanner_options);
  if (!scanner.ok()) {
    fmt::print(stderr, "tollgate: cannot start the scanner: {}\n", scanner.status().ToString());
    return 2;
  }

  const auto started = std::chrono::steady_clock::now();
  std::vector<FileResult> errors;
  const std::vector<std::string> files = CollectFiles(options.paths, errors);
  OrderedPrinter printer(options, files.size());
  for (const FileResult& error : errors) printer.Print(error);
  tbb::task_arena arena(static_cast<int>(options.jobs));
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, files.size(), 1), [&](const tbb::blocked_range<size_t>& range) {
      for (size_t i = range.begin(); i != range.end(); ++i) {
        auto report = (*scanner)->ScanFile(files[i]);
        if (report.ok()) {
          printer.Deliver(i, {files[i], std::move(*report), {}});
        } else {
          printer.Deliver(i, {files[i], std::nullopt, report.status().message()});
        }
      }
    });
  });
  printer.Finish();
  printer.totals.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (options.json) {
    fmt::print("{}\n", JsonLine(SummaryJson(**scanner, printer.totals)));
  } else {
    PrintSummary(stdout, **scanner, printer.totals);
  }
  if (printer.totals.errors > 0) return 2;
  return printer.totals.blocked > 0 ? 1 : 0;
}

}  // namespace

void AddScanCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ScanOptions>();
  CLI::App* scan = app.add_subcommand("scan", "Scan files and folders (recursively; symbolic links are not followed)");
  scan->add_option("paths", options->paths, "Files and folders to scan")->required();
  scan->add_option("--rules", options->rules_dir, "Rule bundle folder replacing the shipped one (yara/, hyperscan/, clamav/)")
      ->check(CLI::ExistingDirectory);
  scan->add_option("--clamav-db", options->clamav_dbs, "Add a ClamAV database file (.cvd/.cld/.hdb/.hsb/.ndb/.ldb/.fp/.ign2...)")
      ->check(CLI::ExistingFile)
      ->allow_extra_args(false);
  scan->add_option("--yara", options->yara_files, "Add a YARA rule file")->check(CLI::ExistingFile)->allow_extra_args(false);
  scan->add_option("--patterns", options->pattern_files, "Add a Hyperscan pattern file")
      ->check(CLI::ExistingFile)
      ->allow_extra_args(false);
  scan->add_option("--jobs,-j", options->jobs, "Files scanned in parallel (default: all cores)")
      ->check(CLI::Range(1u, 1024u))
      ->capture_default_str();
  scan->add_option("--policy", options->policy_file, "Policy file (TOML) mapping findings to verdicts and actions")
      ->check(CLI::ExistingFile);
  scan->add_option("--password", options->passwords, "Password to try on encrypted content, in order; repeatable")
      ->allow_extra_args(false);
  scan->add_flag("--json", options->json, "Write JSON Lines: one object per file, then a summary object");
  scan->add_option("--max-depth", options->limits.max_depth, "Most nested layers below a file")->capture_default_str();
  scan->add_option("--max-files", options->limits.max_files, "Most layers in one file")->capture_default_str();
  scan->add_option("--max-layer-mb", options->max_layer_mb, "Largest single layer, MiB")->capture_default_str();
  scan->add_option("--max-total-mb", options->max_total_mb, "Most bytes extracted from one file, MiB")
      ->capture_default_str();
  scan->add_option("--max-ratio", options->limits.max_expansion_ratio, "Largest expansion ratio of one layer")
      ->capture_default_str();
  scan->add_option("--scan-timeout-ms", options->scan_timeout_ms, "Time limit for one file, ms")->capture_default_str();
  scan->callback([options, &exit_code] { exit_code = RunScan(*options); });
}

}  // namespace tollgate::cli
