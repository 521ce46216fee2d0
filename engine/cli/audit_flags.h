// The audit log options shared by `scan` and `serve` (--audit-dir, --audit-key, --audit-fsync,
// --retention-days, --audit-checkpoint-records, --audit-checkpoint-seconds), and opening the log
// they describe.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "tollgate/audit/log_writer.h"
#include "tollgate/status.h"

namespace tollgate::cli {

struct AuditFlags {
  std::string dir;
  std::string key_file;
  std::string fsync = "blocks";
  uint32_t retention_days = 274;
  uint64_t checkpoint_records = 1000;
  uint64_t checkpoint_seconds = 60;
};

// Adds the flags to `command`; returns --audit-dir so a caller can make it exclusive with a mode.
CLI::Option* AddAuditFlags(CLI::App& command, AuditFlags& flags);

// The log, or nullptr when --audit-dir was not given.
StatusOr<std::unique_ptr<audit::AuditLog>> OpenAuditLog(const AuditFlags& flags);

}  // namespace tollgate::cli
