#include "scan_command.h"

#include <fmt/format.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "audit_flags.h"
#include "convert.h"
#include "human_output.h"
#include "scan_client.h"
#include "scanner_flags.h"
#include "tollgate/audit/events.h"
#include "tollgate/report_json.h"
#include "tollgate/scanner.h"

namespace tollgate::cli {
namespace fs = std::filesystem;
namespace {

struct ScanOptions {
  std::vector<std::string> paths;
  ScannerFlags scanner;
  AuditFlags audit;
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  bool json = false;
  service::ClientOptions remote;  // target set: scan with a `tollgate serve` instead of locally
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

  // Each file's lines are written and flushed at once: a scan that is killed, or read through a
  // pipe, has reported every file it printed.
  void Print(const FileResult& result) {
    Write(result);
    std::fflush(stdout);
  }

  void Write(const FileResult& result) {
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
    totals.Add(report);
    if (options_.json) {
      fmt::print("{}\n", JsonLine(ReportToJson(report, result.path)));
    } else {
      PrintReportLine(stdout, result.path, report);
    }
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

nlohmann::json SummaryJson(const ScannerIdentity& scanner, const ScanTotals& totals) {
  nlohmann::json engines = nlohmann::json::object();
  for (const EngineInfo& engine : scanner.engines) engines[engine.name] = engine.rule_count;
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
            {"rules_version", scanner.rules_version},
            {"engines", engines},
            {"layers", totals.layers},
            {"stages", StagesToJson(totals.stages)}}}};
}

// Scans one file, locally or remotely; the error is what the file's ERROR line says.
using ScanOne = std::function<StatusOr<ScanReport>(const std::string& path)>;

// Collects the files, scans them `jobs` at a time, prints them in order and the summary of
// `identity()` (asked once every file is done). Returns the exit code.
int ScanAndReport(const ScanOptions& options, const ScanOne& scan_one, const std::function<ScannerIdentity()>& identity) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<FileResult> errors;
  const std::vector<std::string> files = CollectFiles(options.paths, errors);
  OrderedPrinter printer(options, files.size());
  for (const FileResult& error : errors) printer.Print(error);
  tbb::task_arena arena(static_cast<int>(options.jobs));
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, files.size(), 1), [&](const tbb::blocked_range<size_t>& range) {
      for (size_t i = range.begin(); i != range.end(); ++i) {
        auto report = scan_one(files[i]);
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
    fmt::print("{}\n", JsonLine(SummaryJson(identity(), printer.totals)));
  } else {
    PrintSummary(stdout, identity(), printer.totals);
  }
  if (printer.totals.errors > 0) return 2;
  return printer.totals.blocked > 0 ? 1 : 0;
}

int RunLocalScan(const ScanOptions& options) {
  if (Status sandbox = PrepareSandbox(options.scanner); !sandbox.ok()) {
    fmt::print(stderr, "tollgate: cannot start the parser sandbox: {}\n", sandbox.ToString());
    return 2;
  }
  auto audit_log = OpenAuditLog(options.audit);
  if (!audit_log.ok()) {
    fmt::print(stderr, "tollgate: cannot open the audit log: {}\n", audit_log.status().ToString());
    return 2;
  }
  auto runner = MakeRunner(ToScannerOptions(options.scanner), options.scanner, options.jobs,
                           MakeVerdictCache(options.scanner));
  if (!runner.ok()) {
    fmt::print(stderr, "tollgate: cannot start the scanner: {}\n", runner.status().ToString());
    return 2;
  }
  const audit::Caller caller{"cli", audit::LocalUser(), {}, {}, {}};
  const int exit_code = ScanAndReport(
      options,
      [&](const std::string& path) -> StatusOr<ScanReport> {
        auto report = (*runner)->RunFile(path);
        if (!report.ok() || !*audit_log) return report;
        // Recorded before it is printed: a verdict the audit log cannot hold is an error, not a verdict.
        auto recorded =
            (*audit_log)->Append(audit::VerdictEvent(caller, path, *report, (*runner)->setup().policy_name()));
        if (!recorded.ok()) {
          return Status(recorded.status().code(), "not recorded in the audit log: " + recorded.status().message());
        }
        return report;
      },
      [&] { return IdentityOf(**runner); });
  if (*audit_log) {
    if (Status closed = (*audit_log)->Close(); !closed.ok()) {
      fmt::print(stderr, "tollgate: the audit log could not be closed cleanly: {}\n", closed.ToString());
      return 2;
    }
  }
  return exit_code;
}

// The same output and exit codes as a local scan; the server's rules, policy and limits apply.
int RunRemoteScan(ScanOptions& options) {
  options.remote.timeout = std::chrono::milliseconds(options.scanner.scan_timeout_ms);
  auto client = service::ScanClient::Connect(options.remote);
  if (!client.ok()) {
    fmt::print(stderr, "tollgate: cannot scan with {}: {}\n", options.remote.target, client.status().ToString());
    return 2;
  }
  std::mutex mutex;
  ScannerIdentity server;
  return ScanAndReport(
      options,
      [&](const std::string& path) -> StatusOr<ScanReport> {
        auto response = (*client)->ScanFile(path);
        if (!response.ok()) return Status(response.status().code(), response.status().ToString());
        std::lock_guard lock(mutex);
        server.rules_version = response->rules_version();
        server.policy = response->policy();
        server.engines.clear();
        for (const auto& engine : response->engines()) server.engines.push_back({engine.name(), engine.rule_count()});
        return service::FromProto(*response);
      },
      [&] { return server; });
}

int RunScan(ScanOptions& options) {
  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, options.jobs);
  return options.remote.target.empty() ? RunLocalScan(options) : RunRemoteScan(options);
}

}  // namespace

void AddScanCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ScanOptions>();
  CLI::App* scan = app.add_subcommand("scan", "Scan files and folders (recursively; symbolic links are not followed)");
  scan->add_option("paths", options->paths, "Files and folders to scan")->required();
  const std::vector<CLI::Option*> engine_flags = AddScannerFlags(*scan, options->scanner);
  scan->add_option("--jobs,-j", options->jobs, "Files scanned in parallel (default: all cores)")
      ->check(CLI::Range(1u, 1024u))
      ->capture_default_str();
  scan->add_flag("--json", options->json, "Write JSON Lines: one object per file, then a summary object");
  CLI::Option* remote = scan->add_option("--remote", options->remote.target,
                                         "Scan with a `tollgate serve` at HOST:PORT instead of locally (its rules, "
                                         "policy and limits apply; --scan-timeout-ms is the time per file)");
  for (CLI::Option* flag : engine_flags) flag->excludes(remote);
  // A remote scan's verdicts are the server's to record.
  AddAuditFlags(*scan, options->audit)->excludes(remote);
  scan->add_option("--tls-ca", options->remote.tls_ca_file, "With --remote: use TLS, trusting this CA certificate")
      ->check(CLI::ExistingFile)
      ->needs(remote);
  CLI::Option* cert = scan->add_option("--tls-cert", options->remote.tls_cert_file,
                                       "With --remote and --tls-ca: client certificate (mutual TLS)")
                          ->check(CLI::ExistingFile)
                          ->needs(remote);
  scan->add_option("--tls-key", options->remote.tls_key_file, "With --tls-cert: its private key")
      ->check(CLI::ExistingFile)
      ->needs(cert);
  scan->add_option("--token-file", options->remote.token_file,
                   "With --remote: file holding the bearer token (first field of the first line)")
      ->check(CLI::ExistingFile)
      ->needs(remote);
  scan->callback([options, &exit_code] { exit_code = RunScan(*options); });
}

}  // namespace tollgate::cli
