// The audit log's record format and hash chain.
//
// A log is a folder of JSON Lines files. Each line is one record, a JSON object whose first keys are
// `seq` (1, 2, 3… across all files), `time` (RFC 3339 UTC with microseconds) and `type`, followed by
// the event's own fields and, last, `prev`: the SHA-256 (lower-case hex) of the exact bytes of the
// previous record's line, without its newline. The first record ever has 64 zeros as `prev`. Since
// each `prev` covers the previous line, which holds its own `prev`, one hash commits to every record
// before it: a checkpoint signs (seq, time, prev) and so vouches for the whole chain up to it.
//
// Records are never parsed and re-serialized for hashing: the verifier hashes the bytes on disk.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "tollgate/status.h"

namespace tollgate::audit {

enum class EventType {
  kVerdict,
  kRefused,
  kRulesUpdate,
  kRulesRollback,
  kRulesRefused,
  kServerStart,
  kServerStop,
  kPolicyOverride,
  kRulesActivated,  // a running server switched to another rules version (hot reload)
  // Written by the log itself.
  kFileStart,   // line 1 of every file: names the previous file and links to its last record
  kCheckpoint,  // Ed25519 signature over (seq, time, prev)
  kRetention,   // expired files about to be removed, and the hash that linked to them
};

std::string_view ToString(EventType type);
std::optional<EventType> ParseEventType(std::string_view text);

// One security event. `fields` is a JSON object and never holds upload content.
struct Event {
  EventType type = EventType::kVerdict;
  nlohmann::ordered_json fields = nlohmann::ordered_json::object();
  // Synced before Append returns under the default fsync policy ("blocks"). Everything is critical
  // except verdicts that allow the upload.
  bool critical = true;
};

// The `prev` of the first record of a log.
inline constexpr std::string_view kGenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

using Clock = std::chrono::system_clock;

// One record line, without the newline. Fails if `fields` is not an object or uses a key every record
// has (seq, time, type, prev).
StatusOr<std::string> FormatRecord(uint64_t seq, std::string_view time, EventType type,
                                   const nlohmann::ordered_json& fields, std::string_view prev);

// SHA-256 of a record's line (without its newline), lower-case hex: the next record's `prev`.
std::string RecordHash(std::string_view line);

// RFC 3339 in UTC with microseconds: 2025-11-28T18:45:01.123456Z.
std::string FormatTime(Clock::time_point time);
// Accepts RFC 3339 (`Z` or a ±HH:MM offset, optional fraction) and a plain date (midnight UTC).
std::optional<Clock::time_point> ParseTime(std::string_view text);
// The UTC calendar date of `time`: 2025-11-28.
std::string UtcDate(Clock::time_point time);

// The bytes a checkpoint's signature covers.
std::string CheckpointMessage(uint64_t seq, std::string_view time, std::string_view prev);

}  // namespace tollgate::audit
