#include "tollgate/status.h"

#include <array>

namespace tollgate {

std::string Status::ToString() const {
  static constexpr std::array<const char*, 17> kNames = {
      "OK",           "CANCELLED",         "UNKNOWN",          "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
      "NOT_FOUND",    "ALREADY_EXISTS",    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",      "OUT_OF_RANGE",      "UNIMPLEMENTED",    "INTERNAL",         "UNAVAILABLE",
      "DATA_LOSS",    "UNAUTHENTICATED"};
  std::string text = kNames[static_cast<size_t>(code_)];
  if (!message_.empty()) text += ": " + message_;
  return text;
}

}  // namespace tollgate
