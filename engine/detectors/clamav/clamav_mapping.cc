#include "clamav_mapping.h"

#include <algorithm>
#include <cctype>

namespace tollgate::clamav {

Finding FindingForVirusName(std::string_view virus_name, std::string object) {
  Finding finding;
  finding.engine = std::string(kEngineName);
  finding.rule = std::string(virus_name);
  finding.object = std::move(object);
  if (virus_name.starts_with("Heuristics.Limits.Exceeded")) {
    finding.kind = FindingKind::kIncomplete;
    finding.reason = "limit";
    finding.severity = Severity::kHigh;
  } else if (virus_name.starts_with("Heuristics.Encrypted.")) {
    finding.kind = FindingKind::kIncomplete;
    finding.reason = "encrypted";
    finding.severity = Severity::kHigh;
  } else if (virus_name.starts_with("Heuristics.")) {
    finding.kind = FindingKind::kHeuristic;
    finding.severity = Severity::kMedium;
  } else {
    finding.kind = FindingKind::kSignature;
    finding.severity = Severity::kHigh;
  }
  return finding;
}

Status StatusForScanResult(cl_error_t result, std::string_view object) {
  const auto message = [&] {
    return "libclamav could not scan " + std::string(object) + ": " + cl_strerror(result);
  };
  switch (result) {
    case CL_CLEAN:
    case CL_VIRUS:
    case CL_BREAK:
      return Status::Ok();
    case CL_ETIMEOUT:
      return DeadlineExceeded(message());
    case CL_EMAXREC:
    case CL_EMAXSIZE:
    case CL_EMAXFILES:
    case CL_EMEM:
      return ResourceExhausted(message());
    case CL_EFORMAT:
    case CL_EPARSE:
    case CL_EUNPACK:
      return DataLoss(message());
    default:
      return Internal(message());
  }
}

namespace {

// cli_gentemp names extracted files "clamav-<32 hex digits>.tmp", a fresh random name each scan.
bool IsTemporaryFileName(std::string_view name) {
  constexpr std::string_view kPrefix = "clamav-";
  constexpr std::string_view kSuffix = ".tmp";
  constexpr size_t kHexDigits = 32;
  if (name.size() != kPrefix.size() + kHexDigits + kSuffix.size() || !name.starts_with(kPrefix) ||
      !name.ends_with(kSuffix)) {
    return false;
  }
  const std::string_view digits = name.substr(kPrefix.size(), kHexDigits);
  return std::all_of(digits.begin(), digits.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

std::string LayerName(const char* file_name, std::string_view type) {
  if (file_name == nullptr || *file_name == '\0' || IsTemporaryFileName(file_name)) {
    return "[" + std::string(type) + "]";
  }
  return file_name;
}

}  // namespace tollgate::clamav
