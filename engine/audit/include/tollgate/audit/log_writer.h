// AuditLog: appends security events to the tamper-evident log (format in record.h).
//
// Append() returns only once the record is written to the file and, when the fsync policy asks for
// it, synced to disk: call it before the decision it records is returned or acted on, and treat an
// error as "do not return the decision" (fail closed). After a write or sync error every later
// Append fails too: the log is never continued past a record that may be torn.
//
// Files: one per UTC day (a restart on the same day continues the day's file), created 0640 in a
// folder created 0750, whatever the umask. Line 1 of each file is a `file_start` record naming the
// previous file, how many bytes of it the chain covers, and linking (prev) to its last record, so the
// chain runs on across files. Only one process may write a folder at a time (flock).
//
// Checkpoints, signed with the Ed25519 key: every `checkpoint_every` records, every
// `checkpoint_interval` (when records are waiting), after each file_start, before expired files are
// removed and at Close(). Retention: at startup and at each rotation, the oldest files whose date is
// more than `retention_days` days ago are removed, but only after a `retention` record naming each
// of them (first and last seq, the hash of its last record, its size) has been written and covered
// by a checkpoint; so the verifier can tell removed-by-policy from deleted.
//
// Thread-safe: appends from many threads are serialized by one mutex on one file descriptor; syncs
// are shared (one fdatasync covers every record written before it) and run outside the mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "tollgate/audit/record.h"
#include "tollgate/status.h"

namespace tollgate::audit {

enum class FsyncPolicy {
  kAlways,  // every record
  kBlocks,  // critical records (every event but an allow verdict) and checkpoints
  kNever,   // written to the kernel only: survives a crash of the process, not of the machine
};
std::string_view ToString(FsyncPolicy policy);
std::optional<FsyncPolicy> ParseFsyncPolicy(std::string_view text);

struct LogOptions {
  std::string dir;
  std::string key_file;  // Ed25519 private key, PEM; see checkpoint_key.h
  FsyncPolicy fsync = FsyncPolicy::kBlocks;
  uint64_t checkpoint_every = 1000;
  std::chrono::seconds checkpoint_interval{60};
  uint32_t retention_days = 274;  // about 9 months
  // Time source (tests inject one); empty: the system clock.
  std::function<Clock::time_point()> clock;
  // A thread that checkpoints and rotates when no records arrive; without it, call Tick().
  bool background = true;
};

struct LogStats {
  uint64_t records = 0;  // appended by this process, checkpoints and file headers included
  uint64_t checkpoints = 0;
  uint64_t syncs = 0;
  uint64_t files_created = 0;
  uint64_t files_removed = 0;
  uint64_t last_seq = 0;
  std::string current_file;
};

class AuditLog {
 public:
  static StatusOr<std::unique_ptr<AuditLog>> Open(LogOptions options);
  ~AuditLog();  // Close(), errors ignored
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // The record's seq, once it is durable as the policy says.
  StatusOr<uint64_t> Append(const Event& event);
  // Periodic work: rotation at a new UTC day, a checkpoint when the interval has passed.
  Status Tick();
  // Writes the shutdown checkpoint and syncs (unless the policy is "never"); idempotent.
  Status Close();

  LogStats stats() const;

 private:
  struct State;
  explicit AuditLog(std::unique_ptr<State> state);
  void RunBackground();

  std::unique_ptr<State> state_;
  std::thread background_;
};

}  // namespace tollgate::audit
