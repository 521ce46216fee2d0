// The periodic review of an audit log: what was blocked (by rule and by tenant), which calls were
// refused and why, how the rules changed, and counts by verdict. It reads the records as they are;
// integrity is `tollgate audit verify`'s job.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tollgate/audit/record.h"
#include "tollgate/status.h"

namespace tollgate::audit {

struct LogSummary {
  std::string dir;
  std::string since;  // RFC 3339, empty: the whole log
  uint64_t files = 0;
  uint64_t records = 0;     // records at or after `since`
  uint64_t unreadable = 0;  // lines that are not records (verify says why)
  std::string first_time, last_time;
  std::map<std::string, uint64_t> verdicts;  // clean, suspicious, malicious, incomplete
  uint64_t allowed = 0, blocked = 0;
  std::map<std::string, uint64_t> blocks_by_rule;    // each deciding rule of each blocked upload
  std::map<std::string, uint64_t> blocks_by_tenant;
  std::map<std::string, uint64_t> refused_by_reason;
  std::map<std::string, uint64_t> refused_by_tenant;
  std::vector<nlohmann::ordered_json> rule_changes;      // rules_update / rules_rollback / rules_refused
  std::vector<nlohmann::ordered_json> policy_overrides;
  uint64_t server_starts = 0, server_stops = 0;
  uint64_t checkpoints = 0;
  uint64_t files_removed = 0;  // by retention
};

StatusOr<LogSummary> SummarizeLog(const std::string& dir, std::optional<Clock::time_point> since);

std::string SummaryText(const LogSummary& summary);
nlohmann::ordered_json SummaryJson(const LogSummary& summary);

}  // namespace tollgate::audit
