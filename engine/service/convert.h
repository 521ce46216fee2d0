// Between the engine's ScanReport and the wire's ScanResponse. The client turns a response back
// into a ScanReport so a remote scan prints exactly like a local one.
#pragma once

#include <string>
#include <vector>

#include "tollgate/scanner.h"
#include "tollgate/v1/scanner.pb.h"

namespace tollgate::service {

v1::Verdict ToProto(Verdict verdict);
v1::Action ToProto(Action action);
v1::Severity ToProto(Severity severity);
v1::FindingKind ToProto(FindingKind kind);

// Fills everything but `timings.server_micros`, which only the caller knows.
void ToProto(const ScanReport& report, const std::vector<EngineInfo>& engines, std::string_view policy,
             v1::ScanResponse& response);

// The inverse of ToProto; `deciding` is rebuilt from each finding's flag.
ScanReport FromProto(const v1::ScanResponse& response);

}  // namespace tollgate::service
