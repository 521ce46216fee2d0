#include "tollgate/audit/events.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace tollgate::audit {
namespace {

nlohmann::ordered_json CallerFields(const Caller& caller) {
  nlohmann::ordered_json fields = {{"source", caller.source}, {"client", caller.client}, {"tenant", caller.tenant}};
  if (!caller.upload_id.empty()) fields["upload_id"] = caller.upload_id;
  if (!caller.user_id.empty()) fields["user_id"] = caller.user_id;
  return fields;
}

}  // namespace

Event VerdictEvent(const Caller& caller, std::string_view filename, const ScanReport& report,
                   std::string_view policy) {
  nlohmann::ordered_json deciding = nlohmann::ordered_json::array();
  for (size_t index : report.deciding) {
    const Finding& finding = report.findings[index];
    nlohmann::ordered_json entry = {{"engine", finding.engine},
                                    {"rule", finding.rule},
                                    {"severity", ToString(finding.severity)},
                                    {"kind", ToString(finding.kind)},
                                    {"object", finding.object}};
    if (!finding.reason.empty()) entry["reason"] = finding.reason;
    deciding.push_back(std::move(entry));
  }
  nlohmann::ordered_json fields = CallerFields(caller);
  fields["filename"] = filename;
  fields["size"] = report.size;
  fields["sha256"] = report.sha256;
  fields["file_type"] = report.type.mime;
  fields["verdict"] = ToString(report.verdict);
  fields["action"] = ToString(report.action);
  fields["deciding"] = std::move(deciding);
  fields["findings"] = report.findings.size();
  fields["policy"] = policy;
  fields["rules_version"] = report.rules_version;
  fields["cached"] = report.cached;
  return {EventType::kVerdict, std::move(fields), report.action == Action::kBlock};
}

Event RefusedEvent(const Caller& caller, std::string_view reason, int code, std::string_view message) {
  nlohmann::ordered_json fields = CallerFields(caller);
  fields["reason"] = reason;
  fields["code"] = code;
  fields["message"] = message;
  return {EventType::kRefused, std::move(fields), true};
}

Event RulesEvent(EventType type, std::string_view version, std::string_view previous_version,
                 std::string_view detail) {
  return {type, {{"version", version}, {"previous_version", previous_version}, {"detail", detail}}, true};
}

std::string LocalUser() {
  const uid_t uid = ::getuid();
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    return fmt::format("uid {} ({})", uid, found->pw_name);
  }
  return fmt::format("uid {}", uid);
}

}  // namespace tollgate::audit
