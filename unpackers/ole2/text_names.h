// Names from OLE2 files as UTF-8 that prints safely in an object path and in logs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tollgate::ole2 {

// UTF-16LE (directory entry names, [MS-OVBA] Unicode records) to UTF-8; an unpaired surrogate
// becomes U+FFFD and an odd trailing byte is dropped.
std::string Utf16LeToUtf8(std::span<const uint8_t> utf16);

// Code-page text (module names, package labels) to UTF-8, read as Latin-1: exact for ASCII names,
// readable for the Western code pages Office uses.
std::string Latin1ToUtf8(std::span<const uint8_t> text);

// Replaces control characters (OLE2 names such as "\x01Ole10Native" start with one) and bytes that
// are not UTF-8 by their "\xNN" spelling.
std::string PrintableName(std::string_view utf8);

}  // namespace tollgate::ole2
