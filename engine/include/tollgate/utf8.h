// Text from file formats as UTF-8: the one converter every unpacker and detector uses.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace tollgate {

// Appends `code_point` as UTF-8; a surrogate or a value past U+10FFFF becomes U+FFFD.
void AppendUtf8(char32_t code_point, std::string& out);

// UTF-16LE to UTF-8; an unpaired surrogate becomes U+FFFD and an odd trailing byte is dropped.
std::string Utf16LeToUtf8(std::span<const uint8_t> utf16);

}  // namespace tollgate
