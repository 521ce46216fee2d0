#include "tollgate/report_json.h"

#include <algorithm>

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
  };
}

}  // namespace tollgate
