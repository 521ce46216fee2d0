// Verifies an audit log folder: every file, every record, every link and every checkpoint signature.
//
// Files are taken in chain order (the first seq in their names). Every record must be one JSON
// object on one newline-terminated line with the next `seq` and a `prev` equal to the SHA-256 of the
// line before it; line 1 of each file, and only line 1, is a `file_start` naming that file and the
// previous one, with the byte count of the previous file that the chain covers. Every checkpoint
// must carry the public key's fingerprint and a valid signature over (seq, time, prev).
//
// Accepted on purpose:
//  - Bytes after the last newline of a file (a record torn by a crash) when the next file's header
//    declares exactly that many `torn_bytes`: the writer saw them on restart and moved on.
//  - A log that does not start at seq 1 (files removed by retention) when a `retention` record later
//    in the chain lists the missing file with the seq and hash the oldest remaining file links to,
//    and a valid checkpoint follows that retention record.
// Not detectable: whole records removed from the end of the newest file, or the newest files removed
// entirely, back to a point where the log still ends on a complete record; keep the last checkpoint
// (`last_checkpoint_seq`, `last_checkpoint_hash`) somewhere else to detect that.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tollgate/audit/checkpoint_key.h"
#include "tollgate/status.h"

namespace tollgate::audit {

// The first thing wrong: where (file, 1-based line, seq when it could be read) and what.
struct VerifyProblem {
  std::string file;
  uint64_t line = 0;
  std::optional<uint64_t> seq;
  std::string message;
};

struct VerifyResult {
  std::optional<VerifyProblem> problem;  // empty: the log verifies
  uint64_t files = 0;
  uint64_t records = 0;
  uint64_t checkpoints = 0;
  uint64_t first_seq = 0, last_seq = 0;
  uint64_t last_checkpoint_seq = 0;
  std::string last_checkpoint_hash;   // the SHA-256 of the last checkpoint's line
  uint64_t unsigned_records = 0;      // after the last checkpoint: chained but not yet signed
  uint64_t removed_by_retention = 0;  // files before the first one, accounted for by a retention record
};

// A Status error only when the folder cannot be read; everything wrong inside it is a problem.
StatusOr<VerifyResult> VerifyLog(const std::string& dir, const VerifyingKey& key);

}  // namespace tollgate::audit
