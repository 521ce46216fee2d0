#include "rules_command.h"

#include <fmt/format.h>

#include <memory>
#include <optional>
#include <string>

#include "audit_flags.h"
#include "bundle.h"
#include "signing.h"
#include "store.h"
#include "tollgate/audit/events.h"
#include "updater.h"

namespace tollgate::cli {
namespace {

struct RulesOptions {
  std::string private_key, public_key, bundle_dir, version, source, store;
  std::string corpus, policy_file;
  bool no_corpus = false;
  size_t keep = 3;
  uint64_t max_bundle_mb = rules::FetchOptions().max_bytes >> 20;
  rules::FetchOptions fetch;
  AuditFlags audit;  // update and rollback record what they did, or why they refused
};

// Prints why `command` did not succeed and returns its exit code.
int Refused(std::string_view command, const rules::Outcome& outcome) {
  const bool refusal = rules::ExitCode(outcome.reason()) >= 10;
  fmt::print(stderr, "tollgate rules {}: {}{}\n", command, refusal ? "refused: " : "", outcome.ToString());
  return rules::ExitCode(outcome.reason());
}

// Records an update, rollback or refusal in the audit log, if there is one, and closes it. Returns
// `exit_code`, or an operational error's when the record cannot be written.
int Record(std::string_view command, audit::AuditLog* log, const audit::Event& event, int exit_code) {
  if (log == nullptr) return exit_code;
  auto recorded = log->Append(event);
  const Status status = recorded.ok() ? log->Close() : recorded.status();
  if (status.ok()) return exit_code;
  return Refused(command, rules::Outcome(rules::Reason::kOperational, "audit log: " + status.message()));
}

// Prints why `command` on `target` was refused, records it, and returns the exit code.
int RefusedAndRecorded(std::string_view command, std::string_view target, audit::AuditLog* log,
                       const rules::Outcome& outcome) {
  const int exit_code = Refused(command, outcome);
  return Record(command, log,
                audit::RulesEvent(audit::EventType::kRulesRefused, "", "",
                                  fmt::format("{} {}: {}", command, target, outcome.ToString())),
                exit_code);
}

int RunKeygen(const RulesOptions& options) {
  rules::Outcome outcome = rules::GenerateKeyPair(options.private_key, options.public_key);
  if (!outcome.ok()) return Refused("keygen", outcome);
  auto key = rules::VerifyKey::Load(options.public_key);
  fmt::print("tollgate rules keygen: wrote {} (keep it secret) and {}; key id {}\n", options.private_key,
             options.public_key, key.ok() ? key->KeyId() : "unknown");
  return 0;
}

int RunSign(const RulesOptions& options) {
  std::optional<rules::BundleVersion> version =
      options.version.empty() ? rules::TimestampVersion() : rules::BundleVersion::Parse(options.version);
  if (!version) {
    return Refused("sign", rules::Outcome(rules::Reason::kOperational,
                                          "--version " + options.version + ": use dot-separated numbers (2025.11.28.1)"));
  }
  auto key = rules::SigningKey::Load(options.private_key);
  if (!key.ok()) return Refused("sign", key.outcome());
  auto manifest = rules::SignBundle(options.bundle_dir, *key, *version);
  if (!manifest.ok()) return Refused("sign", manifest.outcome());
  fmt::print("tollgate rules sign: {} signed as version {} ({} files, key id {})\n", options.bundle_dir,
             manifest->version.text(), manifest->files.size(), key->KeyId());
  return 0;
}

int RunVerify(const RulesOptions& options) {
  auto manifest = rules::VerifySource(options.bundle_dir, options.public_key, options.fetch);
  if (!manifest.ok()) return Refused("verify", manifest.outcome());
  fmt::print("tollgate rules verify: {}: version {}, created {}, {} files: signature and every hash OK\n",
             options.bundle_dir, manifest->version.text(), manifest->created_at, manifest->files.size());
  return 0;
}

int RunUpdate(const RulesOptions& options) {
  // Opened first: an update that could not be recorded is not made.
  auto log = OpenAuditLog(options.audit);
  if (!log.ok()) return Refused("update", rules::Outcome::From(log.status()));
  rules::UpdateOptions update;
  update.source = options.source;
  update.public_key = options.public_key;
  update.store = options.store;
  update.keep = options.keep;
  update.fetch = options.fetch;
  update.fetch.max_bytes = options.max_bundle_mb << 20;
  update.scanner.policy_file = options.policy_file;
  if (!options.corpus.empty()) {
    update.corpus = options.corpus;
  } else if (!options.no_corpus) {
    update.corpus = rules::DefaultCorpus();
  }
  update.progress = [](std::string_view line) {
    fmt::print("tollgate rules update: {}\n", line);
    std::fflush(stdout);
  };
  auto result = rules::UpdateStore(update);
  if (!result.ok()) return RefusedAndRecorded("update", options.source, log->get(), result.outcome());
  if (result->already_active) {
    fmt::print("tollgate rules update: version {} is active already; nothing to do\n", result->version.text());
    return 0;
  }
  const std::string previous = result->previous ? result->previous->text() : "none";
  fmt::print("tollgate rules update: published {} (previous: {}); verdicts now report rules_version {}\n",
             result->version.text(), previous, result->rules_version);
  return Record("update", log->get(),
                audit::RulesEvent(audit::EventType::kRulesUpdate, result->version.text(), previous,
                                  fmt::format("from {} into {}; rules_version {}", options.source, options.store,
                                              result->rules_version)),
                0);
}

int RunRollback(const RulesOptions& options) {
  auto log = OpenAuditLog(options.audit);
  if (!log.ok()) return Refused("rollback", rules::Outcome::From(log.status()));
  auto store = rules::Store::Open(options.store);
  if (!store.ok()) return RefusedAndRecorded("rollback", options.store, log->get(), store.outcome());
  const std::optional<rules::BundleVersion> was = store->active();
  auto now = store->Rollback();
  if (!now.ok()) return RefusedAndRecorded("rollback", options.store, log->get(), now.outcome());
  const std::string withdrawn = was ? was->text() : "?";
  fmt::print("tollgate rules rollback: {} is active again; {} is withdrawn and will not be installed again\n",
             now->text(), withdrawn);
  return Record("rollback", log->get(),
                audit::RulesEvent(audit::EventType::kRulesRollback, now->text(), withdrawn,
                                  fmt::format("in {}; {} is withdrawn", options.store, withdrawn)),
                0);
}

int RunStatus(const RulesOptions& options) {
  // No lock: status may run while an update holds it.
  const std::optional<rules::BundleVersion> active = rules::ActiveVersion(options.store);
  fmt::print("active: {}\n", active ? active->text() : "none");
  for (const rules::BundleVersion& version : rules::InstalledVersions(options.store)) {
    fmt::print("installed: {}{}\n", version.text(), active && version == *active ? " (active)" : "");
  }
  return 0;
}

}  // namespace

void AddRulesCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<RulesOptions>();
  CLI::App* rules = app.add_subcommand("rules", "Signed rule bundles and the rules store (--rules-store)");
  rules->require_subcommand(1);

  CLI::App* keygen = rules->add_subcommand("keygen", "Create an Ed25519 key pair for signing bundles");
  keygen->add_option("--private", options->private_key, "Private key file to create (PEM, mode 0600)")->required();
  keygen->add_option("--public", options->public_key, "Public key file to create (PEM)")->required();
  keygen->callback([options, &exit_code] { exit_code = RunKeygen(*options); });

  CLI::App* sign = rules->add_subcommand("sign", "Write manifest.json and manifest.sig into a bundle folder");
  sign->add_option("dir", options->bundle_dir, "Bundle folder (clamav/, hyperscan/, yara/, selftest/)")
      ->required()
      ->check(CLI::ExistingDirectory);
  sign->add_option("--key", options->private_key, "Private key (PEM)")->required()->check(CLI::ExistingFile);
  sign->add_option("--version", options->version,
                   "Bundle version: dot-separated numbers, higher than the active one (default: UTC date.time)");
  sign->callback([options, &exit_code] { exit_code = RunSign(*options); });

  CLI::App* verify = rules->add_subcommand("verify", "Check a bundle's signature and every file's hash");
  verify->add_option("bundle", options->bundle_dir, "Bundle folder, .zip archive or https:// URL")->required();
  verify->add_option("--pubkey", options->public_key, "Public key (PEM)")->required()->check(CLI::ExistingFile);
  verify->callback([options, &exit_code] { exit_code = RunVerify(*options); });

  CLI::App* update = rules->add_subcommand(
      "update", "Verify, compile, self-test and publish a bundle into a rules store (safe from cron/systemd)");
  update->add_option("--from", options->source, "Bundle folder, .zip archive or https:// URL of a .zip")->required();
  update->add_option("--pubkey", options->public_key, "Public key (PEM) the bundle must be signed with")
      ->required()
      ->check(CLI::ExistingFile);
  update->add_option("--store", options->store, "Rules store folder (created if missing)")->required();
  update->add_option("--keep", options->keep, "Versions kept, the active one included")
      ->check(CLI::Range(size_t{1}, size_t{1000}))
      ->capture_default_str();
  CLI::Option* corpus = update->add_option(
      "--corpus", options->corpus, "Samples whose clean/not-clean verdicts must not change (default: the build's corpus)")
      ->check(CLI::ExistingDirectory);
  update->add_flag("--no-corpus", options->no_corpus, "Skip the corpus comparison")->excludes(corpus);
  update->add_option("--policy", options->policy_file, "Policy file the servers use (for the self-test verdicts)")
      ->check(CLI::ExistingFile);
  update->add_option("--ca-file", options->fetch.ca_file, "https: trust these CA certificates (PEM) instead of the system's")
      ->check(CLI::ExistingFile);
  update->add_option("--max-bundle-mb", options->max_bundle_mb, "Largest bundle to download or unpack, MiB")
      ->capture_default_str();
  AddAuditFlags(*update, options->audit);
  update->callback([options, &exit_code] { exit_code = RunUpdate(*options); });

  CLI::App* rollback = rules->add_subcommand(
      "rollback", "Make the previous kept version active again; the current one is withdrawn");
  rollback->add_option("--store", options->store, "Rules store folder")->required()->check(CLI::ExistingDirectory);
  AddAuditFlags(*rollback, options->audit);
  rollback->callback([options, &exit_code] { exit_code = RunRollback(*options); });

  CLI::App* status = rules->add_subcommand("status", "Show the active and installed versions of a rules store");
  status->add_option("--store", options->store, "Rules store folder")->required()->check(CLI::ExistingDirectory);
  status->callback([options, &exit_code] { exit_code = RunStatus(*options); });
}

}  // namespace tollgate::cli
