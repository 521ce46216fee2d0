// Names from OLE2 files as UTF-8 that prints safely in an object path and in logs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tollgate/utf8.h"  // Utf16LeToUtf8, for directory entry names and [MS-OVBA] Unicode records

namespace tollgate::ole2 {

// Code-page text (module names, package labels) to UTF-8, read as Latin-1: exact for ASCII names,
// readable for the Western code pages Office uses.
std::string Latin1ToUtf8(std::span<const uint8_t> text);

// Replaces control characters (OLE2 names such as "\x01Ole10Native" start with one) and bytes that
// are not UTF-8 by their "\xNN" spelling.
std::string PrintableName(std::string_view utf8);

}  // namespace tollgate::ole2
