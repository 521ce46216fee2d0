// Structured logs of the scanning service: one JSON object per line, each with `time` (UTC,
// RFC 3339 with milliseconds) and `event`: "scan" for every verdict, "refused" for every call turned
// away, and lifecycle events ("listening", "serving", "shutdown"). Never the content of an upload.
#pragma once

#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>

namespace tollgate::service {

class DecisionLog {
 public:
  explicit DecisionLog(std::FILE* out) : out_(out) {}

  // Adds `time` and `event`, then writes `fields` as one line.
  void Write(std::string_view event, nlohmann::json fields);

 private:
  std::FILE* out_;
  std::mutex mutex_;
};

}  // namespace tollgate::service
