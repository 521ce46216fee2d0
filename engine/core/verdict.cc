#include "tollgate/verdict.h"

#include <fmt/format.h>

namespace tollgate {

std::string_view ToString(Severity severity) {
  switch (severity) {
    case Severity::kInfo: return "info";
    case Severity::kLow: return "low";
    case Severity::kMedium: return "medium";
    case Severity::kHigh: return "high";
  }
  return "high";
}

std::string_view ToString(FindingKind kind) {
  switch (kind) {
    case FindingKind::kSignature: return "signature";
    case FindingKind::kHeuristic: return "heuristic";
    case FindingKind::kIncomplete: return "incomplete";
  }
  return "signature";
}

std::string_view ToString(Verdict verdict) {
  switch (verdict) {
    case Verdict::kClean: return "clean";
    case Verdict::kSuspicious: return "suspicious";
    case Verdict::kMalicious: return "malicious";
    case Verdict::kIncomplete: return "incomplete";
  }
  return "incomplete";
}

std::string_view ToString(Action action) { return action == Action::kAllow ? "allow" : "block"; }

std::optional<Severity> ParseSeverity(std::string_view text) {
  for (Severity s : {Severity::kInfo, Severity::kLow, Severity::kMedium, Severity::kHigh}) {
    if (ToString(s) == text) return s;
  }
  return std::nullopt;
}

Finding IncompleteFinding(std::string_view engine, std::string_view reason, const ObjectPath& object,
                          std::string detail) {
  Finding finding;
  finding.engine = std::string(engine);
  finding.rule = "Tollgate.Incomplete." + std::string(reason);
  finding.severity = Severity::kHigh;
  finding.kind = FindingKind::kIncomplete;
  finding.object = object.ToString();
  finding.reason = std::string(reason);
  finding.detail = std::move(detail);
  return finding;
}

Finding HeuristicFinding(std::string rule, Severity severity, std::string object, std::string detail) {
  Finding finding;
  finding.engine = "tollgate";
  finding.rule = std::move(rule);
  finding.severity = severity;
  finding.kind = FindingKind::kHeuristic;
  finding.object = std::move(object);
  finding.detail = std::move(detail);
  return finding;
}

Finding DecryptAttemptFinding(const ObjectPath& object, size_t attempt, size_t attempts, bool accepted) {
  Finding finding;
  finding.engine = "tollgate";
  finding.rule = "Tollgate.Decrypt.Attempt";
  finding.severity = Severity::kInfo;
  finding.kind = FindingKind::kHeuristic;
  finding.object = object.ToString();
  finding.detail = fmt::format("password {} of {}: {}", attempt, attempts, accepted ? "accepted" : "rejected");
  return finding;
}

}  // namespace tollgate
