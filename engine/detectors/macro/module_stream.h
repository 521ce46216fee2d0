// VBA module streams as libclamav hands them on from the documents it unpacks itself (RTF objects,
// mail, archives): compiled p-code, then the module's source, compressed ([MS-OVBA] 2.4.1).
//
// libclamav decompresses VBA too, but only scans the result with its own signatures; the module
// streams are what reaches the other detectors. Without the project's dir stream the source offset
// is unknown, but Office's compressor always stores a module's first eight bytes, "Attribut" (from
// "Attribute VB_Name"), as literals: the source starts with 0x01, a compressed chunk's header, 0x00
// (all-literal flags) and "Attribut".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace tollgate::macro {

// The decompressed source in a module stream (at most `cap` bytes, plus what the last chunk adds);
// nullopt when `stream` holds none, or is a whole compound file (whose streams are layers of their own:
// the finding belongs to the module, not to the document).
std::optional<std::vector<uint8_t>> CompressedModuleSource(std::span<const uint8_t> stream, uint64_t cap);

}  // namespace tollgate::macro
