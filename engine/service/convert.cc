#include "convert.h"

#include <algorithm>

namespace tollgate::service {

v1::Verdict ToProto(Verdict verdict) {
  switch (verdict) {
    case Verdict::kClean: return v1::VERDICT_CLEAN;
    case Verdict::kSuspicious: return v1::VERDICT_SUSPICIOUS;
    case Verdict::kMalicious: return v1::VERDICT_MALICIOUS;
    case Verdict::kIncomplete: return v1::VERDICT_INCOMPLETE;
  }
  return v1::VERDICT_INCOMPLETE;
}

v1::Action ToProto(Action action) { return action == Action::kAllow ? v1::ACTION_ALLOW : v1::ACTION_BLOCK; }

v1::Severity ToProto(Severity severity) {
  switch (severity) {
    case Severity::kInfo: return v1::SEVERITY_INFO;
    case Severity::kLow: return v1::SEVERITY_LOW;
    case Severity::kMedium: return v1::SEVERITY_MEDIUM;
    case Severity::kHigh: return v1::SEVERITY_HIGH;
  }
  return v1::SEVERITY_HIGH;
}

v1::FindingKind ToProto(FindingKind kind) {
  switch (kind) {
    case FindingKind::kSignature: return v1::FINDING_KIND_SIGNATURE;
    case FindingKind::kHeuristic: return v1::FINDING_KIND_HEURISTIC;
    case FindingKind::kIncomplete: return v1::FINDING_KIND_INCOMPLETE;
  }
  return v1::FINDING_KIND_INCOMPLETE;
}

namespace {

// Unknown or unspecified values from a newer or broken server fail closed.
Verdict FromProto(v1::Verdict verdict) {
  switch (verdict) {
    case v1::VERDICT_CLEAN: return Verdict::kClean;
    case v1::VERDICT_SUSPICIOUS: return Verdict::kSuspicious;
    case v1::VERDICT_MALICIOUS: return Verdict::kMalicious;
    default: return Verdict::kIncomplete;
  }
}

Severity FromProto(v1::Severity severity) {
  switch (severity) {
    case v1::SEVERITY_INFO: return Severity::kInfo;
    case v1::SEVERITY_LOW: return Severity::kLow;
    case v1::SEVERITY_MEDIUM: return Severity::kMedium;
    default: return Severity::kHigh;
  }
}

FindingKind FromProto(v1::FindingKind kind) {
  switch (kind) {
    case v1::FINDING_KIND_SIGNATURE: return FindingKind::kSignature;
    case v1::FINDING_KIND_HEURISTIC: return FindingKind::kHeuristic;
    default: return FindingKind::kIncomplete;
  }
}

}  // namespace

void ToProto(const ScanReport& report, const std::vector<EngineInfo>& engines, std::string_view policy,
             v1::ScanResponse& response) {
  response.set_verdict(ToProto(report.verdict));
  response.set_action(ToProto(report.action));
  for (size_t i = 0; i < report.findings.size(); ++i) {
    const Finding& f = report.findings[i];
    v1::Finding& out = *response.add_findings();
    out.set_engine(f.engine);
    out.set_rule(f.rule);
    out.set_severity(ToProto(f.severity));
    out.set_object(f.object);
    out.set_kind(ToProto(f.kind));
    if (f.offset) out.set_offset(*f.offset);
    out.set_reason(f.reason);
    out.set_detail(f.detail);
    out.set_deciding(std::find(report.deciding.begin(), report.deciding.end(), i) != report.deciding.end());
  }
  response.set_sha256(report.sha256);
  response.set_rules_version(report.rules_version);
  response.mutable_timings()->set_scan_micros(static_cast<uint64_t>(report.duration.count()));
  for (const StageTime& stage : report.stages) {
    v1::StageTiming& out = *response.mutable_timings()->add_stages();
    out.set_stage(stage.stage);
    out.set_micros(static_cast<uint64_t>(stage.time.count()));
    out.set_calls(stage.calls);
    out.set_bytes(stage.bytes);
  }
  response.set_filename(report.name);
  response.set_size(report.size);
  response.set_content_type(report.type.mime);
  response.set_content_type_description(report.type.description);
  response.set_layers(report.layers);
  for (const EngineInfo& engine : engines) {
    v1::EngineInfo& out = *response.add_engines();
    out.set_name(engine.name);
    out.set_rule_count(engine.rule_count);
  }
  response.set_policy(std::string(policy));
  response.set_cached(report.cached);
}

ScanReport FromProto(const v1::ScanResponse& response) {
  ScanReport report;
  report.name = response.filename();
  report.sha256 = response.sha256();
  report.type = {response.content_type(), response.content_type_description()};
  report.size = response.size();
  report.verdict = FromProto(response.verdict());
  report.action = response.action() == v1::ACTION_ALLOW ? Action::kAllow : Action::kBlock;
  for (const v1::Finding& f : response.findings()) {
    Finding finding;
    finding.engine = f.engine();
    finding.rule = f.rule();
    finding.severity = FromProto(f.severity());
    finding.kind = FromProto(f.kind());
    finding.object = f.object();
    if (f.has_offset()) finding.offset = f.offset();
    finding.reason = f.reason();
    finding.detail = f.detail();
    if (f.deciding()) report.deciding.push_back(report.findings.size());
    report.findings.push_back(std::move(finding));
  }
  if (report.verdict != Verdict::kClean && report.deciding.empty()) {
    // Output names the finding behind every verdict that is not clean; a server that sent none
    // still gets a line that says so.
    report.deciding.push_back(report.findings.size());
    report.findings.push_back(IncompleteFinding("tollgate", "remote_response", ObjectPath(report.name),
                                                "the server named no finding for this verdict"));
  }
  report.rules_version = response.rules_version();
  report.layers = response.layers();
  report.duration = std::chrono::microseconds(response.timings().scan_micros());
  for (const v1::StageTiming& stage : response.timings().stages()) {
    report.stages.push_back({stage.stage(), std::chrono::microseconds(stage.micros()), stage.calls(), stage.bytes()});
  }
  report.cached = response.cached();
  return report;
}

}  // namespace tollgate::service
