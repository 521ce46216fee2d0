#include "escaped_names.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

namespace tollgate::pdf {
namespace {

// The keys behind this unpacker's heuristics: spelling one of them with escapes hides it from
// byte-pattern rules while every viewer still obeys it.
constexpr std::array<std::string_view, 14> kSensitiveNames = {
    "JavaScript", "JS",        "OpenAction",       "AA",  "Launch",       "SubmitForm",
    "ImportData", "RichMedia", "RichMediaContent", "XFA", "EmbeddedFile", "EmbeddedFiles",
    "EF",         "AcroForm",
};

// Longer tokens cannot decode to a sensitive name (each decoded byte takes at most 3 raw bytes).
constexpr size_t kMaxTokenBytes = 3 * 16;

bool IsDelimiterOrSpace(uint8_t c) {
  constexpr std::string_view kDelimitersAndSpace("\0\t\n\f\r ()<>[]{}/%", 16);
  return kDelimitersAndSpace.find(static_cast<char>(c)) != std::string_view::npos;
}

int HexValue(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes #xx escapes as PDF readers do; returns false when the token has none.
bool DecodeEscapes(std::string_view token, std::string& decoded) {
  bool escaped = false;
  decoded.clear();
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '#' && i + 2 < token.size() && HexValue(token[i + 1]) >= 0 && HexValue(token[i + 2]) >= 0) {
      decoded.push_back(static_cast<char>(HexValue(token[i + 1]) * 16 + HexValue(token[i + 2])));
      i += 2;
      escaped = true;
    } else {
      decoded.push_back(token[i]);
    }
  }
  return escaped;
}

}  // namespace

void FindEscapedSensitiveNames(
    std::span<const uint8_t> bytes,
    const std::function<void(size_t offset, std::string_view raw_token, std::string_view decoded_name)>& found) {
  if (bytes.empty()) return;
  const auto* const begin = bytes.data();
  const auto* const end = begin + bytes.size();
  std::string decoded;
  const uint8_t* slash = begin;
  while ((slash = static_cast<const uint8_t*>(std::memchr(slash, '/', end - slash))) != nullptr) {
    const uint8_t* token_end = slash + 1;
    while (token_end < end && !IsDelimiterOrSpace(*token_end)) ++token_end;
    const std::string_view name(reinterpret_cast<const char*>(slash + 1), token_end - slash - 1);
    if (name.size() <= kMaxTokenBytes && name.find('#') != std::string_view::npos && DecodeEscapes(name, decoded) &&
        std::find(kSensitiveNames.begin(), kSensitiveNames.end(), decoded) != kSensitiveNames.end()) {
      found(slash - begin, std::string_view(reinterpret_cast<const char*>(slash), name.size() + 1), decoded);
    }
    if (token_end == end) break;
    slash = token_end;
  }
}

}  // namespace tollgate::pdf
