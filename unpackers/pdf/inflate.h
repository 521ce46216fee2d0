// zlib inflation of a PDF FlateDecode stream, bounded and measured like every decoded stream: a
// decompression bomb is counted, never held.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace tollgate::pdf {

enum class InflateOutcome {
  kEnded,    // the stream ended
  kLimit,    // `limit` bytes were produced: the stream may hold more
  kCorrupt,  // not a whole, sound zlib stream: nothing was added to `produced` or `out`
  kStopped,  // `should_stop` said so
};

// Inflates the zlib stream `deflated`. Its bytes are added to `produced` (never past `limit`) and
// appended to `out` as long as `produced` stays within `keep`; past that `out` is released and the
// bytes are only counted.
InflateOutcome Inflate(std::span<const uint8_t> deflated, uint64_t limit, uint64_t keep, uint64_t& produced,
                       std::vector<uint8_t>& out, const std::function<bool()>& should_stop);

}  // namespace tollgate::pdf
