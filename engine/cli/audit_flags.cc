#include "audit_flags.h"

namespace tollgate::cli {

CLI::Option* AddAuditFlags(CLI::App& command, AuditFlags& flags) {
  CLI::Option* dir = command.add_option(
      "--audit-dir", flags.dir, "Keep the tamper-evident audit log in this folder (created 0750, files 0640)");
  CLI::Option* key = command.add_option(
      "--audit-key", flags.key_file, "Ed25519 private key (PEM, root-owned 0400) that signs the audit checkpoints")
      ->check(CLI::ExistingFile);
  dir->needs(key);
  key->needs(dir);
  command.add_option("--audit-fsync", flags.fsync, "Sync audit records before the verdict: always, blocks, never")
      ->check(CLI::IsMember({"always", "blocks", "never"}))
      ->capture_default_str()
      ->needs(dir);
  command.add_option("--retention-days", flags.retention_days, "Remove audit files dated more than this many days ago")
      ->check(CLI::Range(1u, 36500u))
      ->capture_default_str()
      ->needs(dir);
  command.add_option("--audit-checkpoint-records", flags.checkpoint_records, "Sign an audit checkpoint every N records")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32))
      ->capture_default_str()
      ->needs(dir);
  command.add_option("--audit-checkpoint-seconds", flags.checkpoint_seconds,
                     "Sign an audit checkpoint when records have waited this long")
      ->check(CLI::Range(uint64_t{1}, uint64_t{86400}))
      ->capture_default_str()
      ->needs(dir);
  return dir;
}

StatusOr<std::unique_ptr<audit::AuditLog>> OpenAuditLog(const AuditFlags& flags) {
  if (flags.dir.empty()) return std::unique_ptr<audit::AuditLog>();
  audit::LogOptions options;
  options.dir = flags.dir;
  options.key_file = flags.key_file;
  options.fsync = audit::ParseFsyncPolicy(flags.fsync).value_or(audit::FsyncPolicy::kBlocks);
  options.retention_days = flags.retention_days;
  options.checkpoint_every = flags.checkpoint_records;
  options.checkpoint_interval = std::chrono::seconds(flags.checkpoint_seconds);
  return audit::AuditLog::Open(std::move(options));
}

}  // namespace tollgate::cli
