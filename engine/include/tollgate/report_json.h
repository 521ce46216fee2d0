// The JSON form of a scan report: the object the CLI writes per file (--json) and the audit log
// records. Keys are a contract with other tools: path, verdict, action, sha256, type, size,
// findings[{engine, rule, severity, kind, object, offset?, reason?, detail?, deciding}],
// rules_version, layers, duration_ms, stages[{stage, ms, calls, bytes}] (see StageTime), cached.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "tollgate/scanner.h"

namespace tollgate {

nlohmann::json FindingToJson(const Finding& finding, bool deciding);
nlohmann::json StagesToJson(const std::vector<StageTime>& stages);
nlohmann::json ReportToJson(const ScanReport& report, std::string_view path);
// The inverse of ReportToJson (`path` becomes the report's name): how a sandboxed worker's report
// reaches the process that serves it. Refuses anything ReportToJson would not have written.
StatusOr<ScanReport> ReportFromJson(const nlohmann::json& json);

}  // namespace tollgate
