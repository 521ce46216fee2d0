// Hex-escaped PDF names (`/Java#53cript`, `/J#53`): viewers decode them, so a sensitive key can be
// written without its plain bytes ever appearing in the file. Poppler hands out names already
// decoded, so the escapes are only visible in the raw bytes (or in a decoded object stream).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

namespace tollgate::pdf {

// Calls `found(offset, raw_token, decoded_name)` for each `/Name` token in `bytes` that contains a
// #xx escape and decodes to a key viewers act on (JavaScript, JS, OpenAction, AA, Launch, ...).
// `raw_token` includes the leading '/'; `decoded_name` does not.
void FindEscapedSensitiveNames(
    std::span<const uint8_t> bytes,
    const std::function<void(size_t offset, std::string_view raw_token, std::string_view decoded_name)>& found);

}  // namespace tollgate::pdf
