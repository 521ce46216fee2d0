// Checks a ZIP file's structure from its raw bytes before anything is inflated: every central
// directory entry must agree with its local header, and no two entries may share bytes. Zip bombs
// built from overlapping entries (one compressed kernel referenced by thousands of entries) and
// archives that show one file to one parser and another to the next fail here.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tollgate::zip {

struct StructureProblem {
  std::string reason;  // "overlapping_entries", "header_mismatch" or "parse_error"
  std::string detail;
};

// nullopt-like: an empty reason means the structure is sound.
StructureProblem CheckZipStructure(std::span<const uint8_t> bytes);

// The compression methods the central directory names, each once, in order of first use; empty when
// there is no readable directory (CheckZipStructure says why).
std::vector<uint16_t> CompressionMethods(std::span<const uint8_t> bytes);

}  // namespace tollgate::zip
