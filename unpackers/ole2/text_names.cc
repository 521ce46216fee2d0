#include "text_names.h"

#include <fmt/format.h>

#include "tollgate/utf8.h"

namespace tollgate::ole2 {
namespace {

// Length of the well-formed UTF-8 sequence at the start of `text`, 0 if there is none.
size_t Utf8SequenceLength(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto continuation = [&](size_t i) { return i < text.size() && (byte(i) & 0xC0) == 0x80; };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    const char32_t code_point = (lead & 0x0F) << 12 | (byte(1) & 0x3F) << 6 | (byte(2) & 0x3F);
    return code_point >= 0x800 && (code_point < 0xD800 || code_point > 0xDFFF) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    const char32_t code_point = (lead & 0x07) << 18 | (byte(1) & 0x3F) << 12 | (byte(2) & 0x3F) << 6;
    return code_point >= 0x10000 && code_point <= 0x10FFFF ? 4 : 0;
  }
  return 0;
}

}  // namespace

std::string Latin1ToUtf8(std::span<const uint8_t> text) {
  std::string out;
  for (uint8_t byte : text) AppendUtf8(byte, out);
  return out;
}

std::string PrintableName(std::string_view utf8) {
  std::string out;
  while (!utf8.empty()) {
    const size_t length = Utf8SequenceLength(utf8);
    const auto lead = static_cast<unsigned char>(utf8[0]);
    if (length == 0 || lead < 0x20 || lead == 0x7F) {
      out += fmt::format("\\x{:02X}", lead);
      utf8.remove_prefix(1);
    } else {
      out += utf8.substr(0, length);
      utf8.remove_prefix(length);
    }
  }
  return out;
}

}  // namespace tollgate::ole2
