#include "inflate.h"

#include <zlib.h>

#include <algorithm>
#include <climits>

namespace tollgate::pdf {
namespace {

constexpr size_t kChunk = 64 * 1024;

class Inflater {
 public:
  Inflater() { ok_ = inflateInit(&stream_) == Z_OK; }
  ~Inflater() {
    if (ok_) inflateEnd(&stream_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  bool ok() const { return ok_; }
  z_stream& stream() { return stream_; }

 private:
  z_stream stream_{};
  bool ok_ = false;
};

}  // namespace

InflateOutcome Inflate(std::span<const uint8_t> deflated, uint64_t limit, uint64_t keep, uint64_t& produced,
                       std::vector<uint8_t>& out, const std::function<bool()>& should_stop) {
  Inflater inflater;
  if (!inflater.ok() || deflated.size() > UINT_MAX) return InflateOutcome::kCorrupt;
  z_stream& z = inflater.stream();
  z.next_in = const_cast<Bytef*>(deflated.data());
  z.avail_in = static_cast<uInt>(deflated.size());
  // This stream's output stays apart until zlib accepted all of it: a refused stream leaves no trace.
  const uint64_t start = produced;
  uint64_t made = 0;
  std::vector<uint8_t> kept;
  uint8_t chunk[kChunk];
  InflateOutcome outcome = InflateOutcome::kLimit;
  while (start + made < limit) {
    if (should_stop()) return InflateOutcome::kStopped;
    z.next_out = chunk;
    z.avail_out = static_cast<uInt>(std::min<uint64_t>(sizeof chunk, limit - start - made));
    const int result = inflate(&z, Z_NO_FLUSH);
    const size_t got = static_cast<size_t>(z.next_out - chunk);
    made += got;
    if (start + made <= keep) kept.insert(kept.end(), chunk, chunk + got);
    if (result == Z_STREAM_END) {
      outcome = InflateOutcome::kEnded;
      break;
    }
    // Damaged, truncated, or failing its checksum (which Poppler ignores): Poppler's decoder decides.
    if (result != Z_OK) return InflateOutcome::kCorrupt;
  }
  produced = start + made;
  if (produced <= keep) {
    out.insert(out.end(), kept.begin(), kept.end());
  } else if (out.capacity() > 0) {
    std::vector<uint8_t>().swap(out);
  }
  return outcome;
}

}  // namespace tollgate::pdf
