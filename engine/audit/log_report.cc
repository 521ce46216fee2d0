#include "tollgate/audit/log_report.h"

#include <fmt/format.h>

#include <algorithm>

#include "log_files.h"

namespace tollgate::audit {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kNone = "(none)";

std::string StringOr(const Json& object, const char* key, std::string_view fallback = kNone) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) return std::string(fallback);
  return it->get<std::string>();
}

// The fields a reviewer needs from a rules or override record: all but the chain's own.
nlohmann::ordered_json ReviewFields(const Json& record) {
  nlohmann::ordered_json fields = {{"time", record["time"]}, {"type", record["type"]}};
  for (const auto& [key, value] : record.items()) {
    if (key != "seq" && key != "time" && key != "type" && key != "prev") fields[key] = value;
  }
  return fields;
}

void Count(LogSummary& summary, const Json& record, EventType type) {
  switch (type) {
    case EventType::kVerdict: {
      ++summary.verdicts[StringOr(record, "verdict")];
      if (StringOr(record, "action") != "block") {
        ++summary.allowed;
        break;
      }
      ++summary.blocked;
      ++summary.blocks_by_tenant[StringOr(record, "tenant")];
      bool any_rule = false;
      if (const auto deciding = record.find("deciding"); deciding != record.end() && deciding->is_array()) {
        for (const Json& finding : *deciding) {
          if (!finding.is_object()) continue;
          ++summary.blocks_by_rule[StringOr(finding, "rule")];
          any_rule = true;
        }
      }
      if (!any_rule) ++summary.blocks_by_rule[std::string(kNone)];
      break;
    }
    case EventType::kRefused:
      ++summary.refused_by_reason[StringOr(record, "reason")];
      ++summary.refused_by_tenant[StringOr(record, "tenant")];
      break;
    case EventType::kRulesUpdate:
    case EventType::kRulesRollback:
    case EventType::kRulesRefused:
    case EventType::kRulesActivated:
      summary.rule_changes.push_back(ReviewFields(record));
      break;
    case EventType::kPolicyOverride:
      summary.policy_overrides.push_back(ReviewFields(record));
      break;
    case EventType::kServerStart: ++summary.server_starts; break;
    case EventType::kServerStop: ++summary.server_stops; break;
    case EventType::kCheckpoint: ++summary.checkpoints; break;
    case EventType::kRetention:
      if (const auto removed = record.find("removed"); removed != record.end() && removed->is_array()) {
        summary.files_removed += removed->size();
      }
      break;
    case EventType::kFileStart: break;
  }
}

// Largest count first, then by name.
std::vector<std::pair<std::string, uint64_t>> Ranked(const std::map<std::string, uint64_t>& counts) {
  std::vector<std::pair<std::string, uint64_t>> ranked(counts.begin(), counts.end());
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return ranked;
}

void AppendTable(std::string& out, std::string_view title, const std::map<std::string, uint64_t>& counts) {
  out += fmt::format("\n{}:\n", title);
  if (counts.empty()) out += "  none\n";
  for (const auto& [name, count] : Ranked(counts)) out += fmt::format("  {:>8}  {}\n", count, name);
}

std::string DescribeChange(const nlohmann::ordered_json& change) {
  std::string text = fmt::format("  {}  {}", change["time"].get<std::string>(), change["type"].get<std::string>());
  for (const auto& [key, value] : change.items()) {
    if (key == "time" || key == "type") continue;
    text += fmt::format("  {}={}", key, value.is_string() ? value.get<std::string>() : value.dump());
  }
  return text + "\n";
}

}  // namespace

StatusOr<LogSummary> SummarizeLog(const std::string& dir, std::optional<Clock::time_point> since) try {
  auto folder = ListLogFiles(dir);
  if (!folder.ok()) return folder.status();
  LogSummary summary;
  summary.dir = dir;
  if (since) summary.since = FormatTime(*since);
  for (const LogFileName& file : folder->files) {
    auto reader = LineReader::Open(dir + "/" + file.name);
    if (!reader.ok()) return reader.status();
    ++summary.files;
    while (auto line = reader->Next()) {
      const Json record = Json::parse(*line, nullptr, false);
      const auto type = record.is_object() ? ParseEventType(StringOr(record, "type")) : std::nullopt;
      const auto time = type ? ParseTime(StringOr(record, "time")) : std::nullopt;
      if (!time) {
        ++summary.unreadable;
        continue;
      }
      if (since && *time < *since) continue;
      ++summary.records;
      const std::string& time_text = record["time"].get_ref<const std::string&>();
      if (summary.first_time.empty()) summary.first_time = time_text;
      summary.last_time = time_text;
      Count(summary, record, *type);
    }
    if (!reader->status().ok()) return Status(reader->status().code(), file.name + ": " + reader->status().message());
    if (!reader->trailing().empty()) ++summary.unreadable;
  }
  return summary;
} catch (const std::exception& error) {
  return Internal(fmt::format("reading {}: {}", dir, error.what()));
}

std::string SummaryText(const LogSummary& summary) {
  std::string out = fmt::format("Audit log {}: {} files, {} records", summary.dir, summary.files, summary.records);
  if (!summary.first_time.empty()) out += fmt::format(" from {} to {}", summary.first_time, summary.last_time);
  out += summary.since.empty() ? "\n" : fmt::format(" (since {})\n", summary.since);
  if (summary.unreadable > 0) {
    out += fmt::format("{} lines are not records: run `tollgate audit verify`\n", summary.unreadable);
  }
  uint64_t scanned = 0;
  for (const auto& [verdict, count] : summary.verdicts) scanned += count;
  out += fmt::format("\nVerdicts: {} uploads, {} allowed, {} blocked\n", scanned, summary.allowed, summary.blocked);
  for (const char* verdict : {"clean", "suspicious", "malicious", "incomplete"}) {
    const auto it = summary.verdicts.find(verdict);
    out += fmt::format("  {:>8}  {}\n", it == summary.verdicts.end() ? 0 : it->second, verdict);
  }
  AppendTable(out, "Blocks by rule", summary.blocks_by_rule);
  AppendTable(out, "Blocks by tenant", summary.blocks_by_tenant);
  AppendTable(out, "Refused calls by reason", summary.refused_by_reason);
  AppendTable(out, "Refused calls by tenant", summary.refused_by_tenant);
  out += "\nRule changes:\n";
  if (summary.rule_changes.empty()) out += "  none\n";
  for (const auto& change : summary.rule_changes) out += DescribeChange(change);
  out += "\nPolicy overrides:\n";
  if (summary.policy_overrides.empty()) out += "  none\n";
  for (const auto& change : summary.policy_overrides) out += DescribeChange(change);
  out += fmt::format("\nServer starts {}, stops {}; checkpoints {}; files removed by retention {}\n",
                     summary.server_starts, summary.server_stops, summary.checkpoints, summary.files_removed);
  return out;
}

nlohmann::ordered_json SummaryJson(const LogSummary& summary) {
  auto ranked = [](const std::map<std::string, uint64_t>& counts) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& [name, count] : Ranked(counts)) out[name] = count;
    return out;
  };
  return {{"dir", summary.dir},
          {"since", summary.since.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(summary.since)},
          {"files", summary.files},
          {"records", summary.records},
          {"unreadable", summary.unreadable},
          {"first_time", summary.first_time},
          {"last_time", summary.last_time},
          {"verdicts", ranked(summary.verdicts)},
          {"allowed", summary.allowed},
          {"blocked", summary.blocked},
          {"blocks_by_rule", ranked(summary.blocks_by_rule)},
          {"blocks_by_tenant", ranked(summary.blocks_by_tenant)},
          {"refused_by_reason", ranked(summary.refused_by_reason)},
          {"refused_by_tenant", ranked(summary.refused_by_tenant)},
          {"rule_changes", summary.rule_changes},
          {"policy_overrides", summary.policy_overrides},
          {"server_starts", summary.server_starts},
          {"server_stops", summary.server_stops},
          {"checkpoints", summary.checkpoints},
          {"files_removed", summary.files_removed}};
}

}  // namespace tollgate::audit
