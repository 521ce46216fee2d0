// Text from file formats: the one UTF-8 converter and case folding every unpacker and detector uses.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tollgate {

// Appends `code_point` as UTF-8; a surrogate or a value past U+10FFFF becomes U+FFFD.
void AppendUtf8(char32_t code_point, std::string& out);

// UTF-16LE to UTF-8; an unpaired surrogate becomes U+FFFD and an odd trailing byte is dropped.
std::string Utf16LeToUtf8(std::span<const uint8_t> utf16);

// `text` with A-Z lowered, every other byte as it is (locale-independent: file formats are ASCII).
std::string AsciiLowercase(std::string_view text);

}  // namespace tollgate
