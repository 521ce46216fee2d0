#include "audit_command.h"

#include <fmt/format.h>

#include <optional>

#include "tollgate/audit/checkpoint_key.h"
#include "tollgate/audit/log_report.h"
#include "tollgate/audit/log_verifier.h"
#include "tollgate/audit/record.h"

namespace tollgate::cli {
namespace {

struct AuditOptions {
  std::string dir;
  std::string public_key;
  std::string since;
  bool json = false;
};

std::string JsonLine(const nlohmann::ordered_json& json) {
  return json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

int RunVerify(const AuditOptions& options) {
  auto key = audit::VerifyingKey::Load(options.public_key);
  if (!key.ok()) {
    fmt::print(stderr, "tollgate: {}\n", key.status().message());
    return 2;
  }
  auto result = audit::VerifyLog(options.dir, *key);
  if (!result.ok()) {
    fmt::print(stderr, "tollgate: {}\n", result.status().message());
    return 2;
  }
  const audit::VerifyResult& r = *result;
  if (options.json) {
    nlohmann::ordered_json out = {{"ok", !r.problem}, {"files", r.files}, {"records", r.records},
                                  {"checkpoints", r.checkpoints}};
    if (r.problem) {
      out["problem"] = {{"file", r.problem->file}, {"line", r.problem->line},
                        {"seq", r.problem->seq ? nlohmann::ordered_json(*r.problem->seq) : nlohmann::ordered_json()},
                        {"message", r.problem->message}};
    } else {
      out["first_seq"] = r.first_seq;
      out["last_seq"] = r.last_seq;
      out["last_checkpoint_seq"] = r.last_checkpoint_seq;
      out["last_checkpoint_hash"] = r.last_checkpoint_hash;
      out["unsigned_records"] = r.unsigned_records;
      out["removed_by_retention"] = r.removed_by_retention;
    }
    fmt::print("{}\n", JsonLine(out));
    return r.problem ? 1 : 0;
  }
  if (r.problem) {
    const audit::VerifyProblem& p = *r.problem;
    fmt::print("BROKEN: {}{}{}: {}\n", p.file.empty() ? options.dir : p.file,
               p.line > 0 ? fmt::format(" line {}", p.line) : "", p.seq ? fmt::format(" seq {}", *p.seq) : "",
               p.message);
    fmt::print("checked before it: {} files, {} records, {} checkpoints\n", r.files, r.records, r.checkpoints);
    return 1;
  }
  fmt::print("OK: {} files, {} records (seq {}..{}), {} checkpoints\n", r.files, r.records, r.first_seq, r.last_seq,
             r.checkpoints);
  fmt::print("last checkpoint: seq {} sha256 {}\n", r.last_checkpoint_seq, r.last_checkpoint_hash);
  if (r.unsigned_records > 0) {
    fmt::print("{} records after the last checkpoint are chained but not yet signed\n", r.unsigned_records);
  }
  if (r.first_seq > 1) {
    fmt::print("records before seq {} were removed by retention ({} files in the retention record)\n", r.first_seq,
               r.removed_by_retention);
  }
  return 0;
}

int RunReport(const AuditOptions& options) {
  std::optional<audit::Clock::time_point> since;
  if (!options.since.empty()) since = audit::ParseTime(options.since);
  auto summary = audit::SummarizeLog(options.dir, since);
  if (!summary.ok()) {
    fmt::print(stderr, "tollgate: {}\n", summary.status().message());
    return 2;
  }
  if (options.json) {
    fmt::print("{}\n", JsonLine(audit::SummaryJson(*summary)));
  } else {
    fmt::print("{}", audit::SummaryText(*summary));
  }
  return 0;
}

}  // namespace

void AddAuditCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<AuditOptions>();
  CLI::App* audit = app.add_subcommand("audit", "Verify and review the tamper-evident audit log");
  audit->require_subcommand(1);

  CLI::App* verify = audit->add_subcommand(
      "verify", "Check every file, record link and checkpoint signature; exit 0 intact, 1 broken, 2 usage error");
  verify->add_option("dir", options->dir, "The audit log folder (--audit-dir)")->required()->check(CLI::ExistingDirectory);
  verify->add_option("--pubkey", options->public_key,
                     "The checkpoint key's public half, PEM (openssl pkey -in KEY -pubout)")
      ->required()
      ->check(CLI::ExistingFile);
  verify->add_flag("--json", options->json, "One JSON object instead of text");
  verify->callback([options, &exit_code] { exit_code = RunVerify(*options); });

  CLI::App* report = audit->add_subcommand(
      "report", "Summarize blocks by rule and tenant, refused calls, rule changes and verdicts");
  report->add_option("dir", options->dir, "The audit log folder (--audit-dir)")->required()->check(CLI::ExistingDirectory);
  report
      ->add_option("--since", options->since, "Only records from this time on: YYYY-MM-DD (UTC) or RFC 3339")
      ->check([](const std::string& text) {
        return audit::ParseTime(text) ? std::string() : "not a date (YYYY-MM-DD) or RFC 3339 time: " + text;
      });
  report->add_flag("--json", options->json, "One JSON object instead of text");
  report->callback([options, &exit_code] { exit_code = RunReport(*options); });
}

}  // namespace tollgate::cli
