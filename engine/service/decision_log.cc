#include "decision_log.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>

namespace tollgate::service {

void DecisionLog::Write(std::string_view event, nlohmann::json fields) {
  const auto now = std::chrono::system_clock::now();
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  nlohmann::json line = {{"time", fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(now)), millis)},
                         {"event", event}};
  if (fields.is_object()) line.update(fields);
  // File names come from clients and need not be UTF-8: replace, never throw.
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mutex_);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

}  // namespace tollgate::service
