#include "module_stream.h"

#include <algorithm>
#include <array>
#include <functional>
#include <string_view>

#include "vba_project.h"

namespace tollgate::macro {
namespace {

constexpr std::string_view kFirstLiterals(
    "\x00"
    "Attribut",
    9);
constexpr uint8_t kContainerSignature = 0x01;
constexpr uint16_t kCompressedChunk = 0xB000;  // flag bit and the 0b011 chunk signature
constexpr std::array<uint8_t, 8> kCompoundFileSignature = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};

}  // namespace

std::optional<std::vector<uint8_t>> CompressedModuleSource(std::span<const uint8_t> stream, uint64_t cap) {
  if (stream.size() >= kCompoundFileSignature.size() &&
      std::equal(kCompoundFileSignature.begin(), kCompoundFileSignature.end(), stream.begin())) {
    return std::nullopt;  // a whole compound file: its module streams are layers of their own
  }
  const std::boyer_moore_horspool_searcher find(kFirstLiterals.begin(), kFirstLiterals.end());
  for (auto hit = std::search(stream.begin(), stream.end(), find); hit != stream.end();
       hit = std::search(hit + 1, stream.end(), find)) {
    const size_t at = static_cast<size_t>(hit - stream.begin());
    if (at < 3 || stream[at - 3] != kContainerSignature) continue;
    const uint16_t header = static_cast<uint16_t>(stream[at - 2] | stream[at - 1] << 8);
    if ((header & 0xF000) != kCompressedChunk) continue;
    std::vector<uint8_t> source;
    // A fault further on still leaves the source up to it, which is worth assessing.
    (void)ole2::DecompressVba(stream.subspan(at - 3), cap, source);
    return source;
  }
  return std::nullopt;
}

}  // namespace tollgate::macro
