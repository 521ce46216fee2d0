// Findings and verdicts: what the engines found, and what the upload service should do about it.
//
// A Finding is one observation about one layer: a signature match (kind kSignature), a structural
// observation from an unpacker (kHeuristic), or the fact that something could not be fully scanned
// (kIncomplete, with `reason` naming the limit, "encrypted", "parse_error" or "timeout").
// Plain values; safe to copy between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tollgate/object_path.h"

namespace tollgate {

enum class Severity { kInfo, kLow, kMedium, kHigh };
enum class FindingKind { kSignature, kHeuristic, kIncomplete };
enum class Verdict { kClean, kSuspicious, kMalicious, kIncomplete };
enum class Action { kAllow, kBlock };

struct Finding {
  std::string engine;                  // "clamav", "yara", "hyperscan", "tollgate" (pipeline/unpackers)
  std::string rule;                    // signature or heuristic name
  Severity severity = Severity::kHigh;
  FindingKind kind = FindingKind::kSignature;
  std::string object;                  // ObjectPath::ToString() of the layer
  std::optional<uint64_t> offset;      // byte offset inside that layer, where the engine tells it
  std::string reason;                  // for kIncomplete: "max_depth", "encrypted", "parse_error", ...
  std::string detail;                  // short human explanation; never file content

  bool operator==(const Finding&) const = default;
};

std::string_view ToString(Severity severity);
std::string_view ToString(FindingKind kind);
std::string_view ToString(Verdict verdict);
std::string_view ToString(Action action);
// Parses "info|low|medium|high"; nullopt for anything else.
std::optional<Severity> ParseSeverity(std::string_view text);

// The finding that says part of an upload could not be scanned, and why: `reason` names the limit
// ("max_depth", ...) or the cause ("timeout", "encrypted", "parse_error", "engine_error").
// Its rule is "Tollgate.Incomplete.<reason>".
Finding IncompleteFinding(std::string_view engine, std::string_view reason, const ObjectPath& object,
                          std::string detail);

// A finding of Tollgate's own heuristics (engine "tollgate", kind kHeuristic) about `object`.
Finding HeuristicFinding(std::string rule, Severity severity, std::string object, std::string detail);

// The info finding "Tollgate.Decrypt.Attempt" an unpacker records for each password it tries on
// `object`: "password 2 of 3: accepted". It never names the password.
Finding DecryptAttemptFinding(const ObjectPath& object, size_t attempt, size_t attempts, bool accepted);

}  // namespace tollgate
