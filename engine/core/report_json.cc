#include "tollgate/report_json.h"

#include <algorithm>
#include <cmath>

namespace tollgate {

nlohmann::json FindingToJson(const Finding& finding, bool deciding) {
  nlohmann::json json = {
      {"engine", finding.engine},
      {"rule", finding.rule},
      {"severity", ToString(finding.severity)},
      {"kind", ToString(finding.kind)},
      {"object", finding.object},
      {"deciding", deciding},
  };
  if (finding.offset) json["offset"] = *finding.offset;
  if (!finding.reason.empty()) json["reason"] = finding.reason;
  if (!finding.detail.empty()) json["detail"] = finding.detail;
  return json;
}

nlohmann::json StagesToJson(const std::vector<StageTime>& stages) {
  nlohmann::json json = nlohmann::json::array();
  for (const StageTime& stage : stages) {
    json.push_back({{"stage", stage.stage},
                    {"ms", static_cast<double>(stage.time.count()) / 1000.0},
                    {"calls", stage.calls},
                    {"bytes", stage.bytes}});
  }
  return json;
}

nlohmann::json ReportToJson(const ScanReport& report, std::string_view path) {
  nlohmann::json findings = nlohmann::json::array();
  for (size_t i = 0; i < report.findings.size(); ++i) {
    const bool deciding = std::find(report.deciding.begin(), report.deciding.end(), i) != report.deciding.end();
    findings.push_back(FindingToJson(report.findings[i], deciding));
  }
  return {
      {"path", path},
      {"verdict", ToString(report.verdict)},
      {"action", ToString(report.action)},
      {"sha256", report.sha256},
      {"type", report.type.mime},
      {"type_description", report.type.description},
      {"size", report.size},
      {"findings", std::move(findings)},
      {"rules_version", report.rules_version},
      {"layers", report.layers},
      {"duration_ms", static_cast<double>(report.duration.count()) / 1000.0},
      {"stages", StagesToJson(report.stages)},
      {"cached", report.cached},
  };
}

namespace {

// The value of type E whose ToString is `text`, among the `count` values from 0.
template <typename E>
bool ParseEnum(const nlohmann::json& json, int count, E& out) {
  if (!json.is_string()) return false;
  for (int i = 0; i < count; ++i) {
    if (ToString(static_cast<E>(i)) == json.get_ref<const std::string&>()) {
      out = static_cast<E>(i);
      return true;
    }
  }
  return false;
}

}  // namespace

StatusOr<ScanReport> ReportFromJson(const nlohmann::json& json) {
  try {
    ScanReport report;
    report.name = json.at("path").get<std::string>();
    report.sha256 = json.at("sha256").get<std::string>();
    report.type.mime = json.at("type").get<std::string>();
    report.type.description = json.at("type_description").get<std::string>();
    report.size = json.at("size").get<uint64_t>();
    report.rules_version = json.at("rules_version").get<std::string>();
    report.layers = json.at("layers").get<uint32_t>();
    report.cached = json.at("cached").get<bool>();
    report.duration = std::chrono::microseconds(std::llround(json.at("duration_ms").get<double>() * 1000.0));
    if (!ParseEnum(json.at("verdict"), 4, report.verdict) || !ParseEnum(json.at("action"), 2, report.action)) {
      return InvalidArgument("report: unknown verdict or action");
    }
    for (const nlohmann::json& item : json.at("stages")) {
      report.stages.push_back({item.at("stage").get<std::string>(),
                               std::chrono::microseconds(std::llround(item.at("ms").get<double>() * 1000.0)),
                               item.at("calls").get<uint64_t>(), item.at("bytes").get<uint64_t>()});
    }
    for (const nlohmann::json& item : json.at("findings")) {
      Finding finding;
      finding.engine = item.at("engine").get<std::string>();
      finding.rule = item.at("rule").get<std::string>();
      finding.object = item.at("object").get<std::string>();
      if (!ParseEnum(item.at("severity"), 4, finding.severity) || !ParseEnum(item.at("kind"), 3, finding.kind)) {
        return InvalidArgument("report: unknown severity or finding kind");
      }
      if (item.contains("offset")) finding.offset = item.at("offset").get<uint64_t>();
      if (item.contains("reason")) finding.reason = item.at("reason").get<std::string>();
      if (item.contains("detail")) finding.detail = item.at("detail").get<std::string>();
      if (item.at("deciding").get<bool>()) report.deciding.push_back(report.findings.size());
      report.findings.push_back(std::move(finding));
    }
    return report;
  } catch (const nlohmann::json::exception& error) {
    return InvalidArgument(std::string("report: ") + error.what());
  }
}

}  // namespace tollgate
