// Deterministic inputs for the micro benchmarks: text shaped like a decompressed office document,
// Hyperscan pattern sets, YARA rules and ZIP/DOCX containers. The same arguments always give the
// same bytes, so runs on different days and machines measure the same work.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "hyperscan/pattern_file.h"

namespace tollgate::bench {

// WordprocessingML-like text: paragraphs of business words and numbers inside <w:p><w:r><w:t>.
std::string DocumentText(size_t size, uint32_t seed);

// Literal signatures (escaped, a fifth caseless): a third start with a word DocumentText uses, so the
// literal matcher must confirm candidates as it would on real text, the rest are random tokens.
std::vector<hyperscan::Pattern> LiteralPatterns(size_t count);
// Regex signatures: classes, bounded repeats, alternations and gaps around distinct literals.
std::vector<hyperscan::Pattern> RegexPatterns(size_t count);

// YARA source of `count` rules with a text string, a hex string and every 8th a nocase wide string.
std::string GeneratedYaraRules(size_t count);

struct ZipMember {
  std::string name;
  std::string bytes;
  bool deflate = true;  // false: stored, as already-compressed media is
};
// A ZIP archive written by libzip.
std::vector<uint8_t> MakeZip(const std::vector<ZipMember>& members);
// A Word 2007+ document of about `size` bytes: document.xml of `size` bytes of text (deflated to
// about a quarter) plus an incompressible stored image making up the rest, as photos do in
// real documents.
std::vector<uint8_t> MakeDocx(size_t size, uint32_t seed);

std::vector<uint8_t> ReadFileBytes(const std::filesystem::path& path);

}  // namespace tollgate::bench
