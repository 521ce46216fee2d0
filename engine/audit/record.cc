#include "tollgate/audit/record.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>

#include "tollgate/sha256.h"

namespace tollgate::audit {
namespace {

constexpr std::array<std::string_view, 12> kTypeNames = {
    "verdict",     "refused",         "rules_update",    "rules_rollback", "rules_refused", "server_start",
    "server_stop", "policy_override", "rules_activated", "file_start",     "checkpoint",    "retention"};

bool ParseDigits(std::string_view text, size_t pos, size_t count, int& out) {
  if (pos + count > text.size()) return false;
  const char* begin = text.data() + pos;
  const auto [end, error] = std::from_chars(begin, begin + count, out);
  return error == std::errc() && end == begin + count;
}

// Names from uploads need not be UTF-8: invalid bytes are replaced rather than failing the append.
std::string Dump(const nlohmann::ordered_json& value) {
  return value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void AppendJsonString(std::string& out, std::string_view text) {
  const bool plain = std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
  if (!plain) {
    out += Dump(nlohmann::ordered_json(text));
    return;
  }
  out += '"';
  out += text;
  out += '"';
}

}  // namespace

std::string_view ToString(EventType type) { return kTypeNames[static_cast<size_t>(type)]; }

std::optional<EventType> ParseEventType(std::string_view text) {
  for (size_t i = 0; i < kTypeNames.size(); ++i) {
    if (kTypeNames[i] == text) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

StatusOr<std::string> FormatRecord(uint64_t seq, std::string_view time, EventType type,
                                   const nlohmann::ordered_json& fields, std::string_view prev) {
  if (!fields.is_object()) return InvalidArgument("audit event fields must be a JSON object");
  for (const auto& [key, value] : fields.items()) {
    if (key == "seq" || key == "time" || key == "type" || key == "prev") {
      return InvalidArgument(fmt::format("audit event field \"{}\" is reserved", key));
    }
  }
  // The fields are serialized once and spliced between the chain's own keys: appends are on the
  // verdict path, and copying the event into a new object would cost more than writing it.
  const std::string body = Dump(fields);
  std::string line = fmt::format(R"({{"seq":{},"time":)", seq);
  line.reserve(body.size() + 200);
  AppendJsonString(line, time);
  line += R"(,"type":")";
  line += ToString(type);
  line += '"';
  if (body.size() > 2) {
    line += ',';
    line.append(body, 1, body.size() - 2);
  }
  line += R"(,"prev":)";
  AppendJsonString(line, prev);
  line += '}';
  return line;
}

std::string RecordHash(std::string_view line) { return Sha256Hex(line); }

std::string FormatTime(Clock::time_point time) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000 - (micros % 1'000'000 < 0 ? 1 : 0));
  const int64_t fraction = ((micros % 1'000'000) + 1'000'000) % 1'000'000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec, fraction);
}

std::string UtcDate(Clock::time_point time) { return FormatTime(time).substr(0, 10); }

std::optional<Clock::time_point> ParseTime(std::string_view text) {
  std::tm utc{};
  int year = 0, month = 0, day = 0;
  if (!ParseDigits(text, 0, 4, year) || text.size() < 10 || text[4] != '-' || !ParseDigits(text, 5, 2, month) ||
      text[7] != '-' || !ParseDigits(text, 8, 2, day) || month < 1 || month > 12 || day < 1 || day > 31) {
    return std::nullopt;
  }
  utc.tm_year = year - 1900;
  utc.tm_mon = month - 1;
  utc.tm_mday = day;
  std::chrono::microseconds fraction{0};
  std::chrono::minutes offset{0};
  if (text.size() > 10) {
    int hour = 0, minute = 0, second = 0;
    if ((text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !ParseDigits(text, 11, 2, hour) ||
        text.size() < 19 || text[13] != ':' || !ParseDigits(text, 14, 2, minute) || text[16] != ':' ||
        !ParseDigits(text, 17, 2, second) || hour > 23 || minute > 59 || second > 60) {
      return std::nullopt;
    }
    utc.tm_hour = hour;
    utc.tm_min = minute;
    utc.tm_sec = second;
    size_t pos = 19;
    if (pos < text.size() && text[pos] == '.') {
      int64_t scale = 100'000;
      size_t digits = 0;
      for (++pos; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++digits) {
        fraction += std::chrono::microseconds((text[pos] - '0') * scale);
        scale /= 10;
      }
      if (digits == 0) return std::nullopt;
    }
    const std::string_view zone = text.substr(pos);
    if (zone == "Z" || zone == "z") {
      offset = std::chrono::minutes(0);
    } else {
      int zone_hours = 0, zone_minutes = 0;
      if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || !ParseDigits(zone, 1, 2, zone_hours) ||
          zone[3] != ':' || !ParseDigits(zone, 4, 2, zone_minutes)) {
        return std::nullopt;
      }
      offset = std::chrono::minutes((zone[0] == '-' ? -1 : 1) * (zone_hours * 60 + zone_minutes));
    }
  }
  const std::time_t seconds = timegm(&utc);
  // The clock counts nanoseconds in 64 bits (years 1678 to 2262); a day's margin keeps the offset and
  // fraction from overflowing.
  constexpr int64_t kLimit = std::chrono::duration_cast<std::chrono::seconds>(Clock::duration::max()).count() - 86400;
  if (seconds > kLimit || seconds < -kLimit) return std::nullopt;
  return Clock::from_time_t(seconds) + fraction - offset;
}

std::string CheckpointMessage(uint64_t seq, std::string_view time, std::string_view prev) {
  return fmt::format("tollgate-audit-checkpoint-v1\nseq={}\ntime={}\nprev={}\n", seq, time, prev);
}

}  // namespace tollgate::audit
