#include "ppt_objects.h"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <string>

#include "little_endian.h"

namespace tollgate::ole2 {
namespace {

constexpr size_t kRecordHeaderSize = 8;
constexpr uint16_t kExOleObjStg = 0x1011;
constexpr uint16_t kCompressedInstance = 1;

struct InflateEnd {
  void operator()(z_stream* stream) const { inflateEnd(stream); }
};

}  // namespace

std::vector<PptStoredObject> FindPptStoredObjects(std::span<const uint8_t> stream) {
  std::vector<PptStoredObject> objects;
  size_t at = 0;
  while (stream.size() - at >= kRecordHeaderSize) {
    const uint16_t instance = Le16(stream, at) >> 4;
    const uint16_t type = Le16(stream, at + 2);
    const uint32_t length = Le32(stream, at + 4);
    if (length > stream.size() - at - kRecordHeaderSize) break;  // the rest is not records
    std::span<const uint8_t> body = stream.subspan(at + kRecordHeaderSize, length);
    if (type == kExOleObjStg) {
      if (instance != kCompressedInstance) {
        objects.push_back({at, false, 0, body});
      } else if (body.size() >= 4) {
        objects.push_back({at, true, Le32(body, 0), body.subspan(4)});
      }
    }
    at += kRecordHeaderSize + length;
  }
  return objects;
}

Status InflatePptObject(std::span<const uint8_t> zlib_data, uint64_t cap, std::vector<uint8_t>& out) {
  z_stream zlib{};
  if (inflateInit(&zlib) != Z_OK) return ResourceExhausted("zlib: inflateInit failed");
  std::unique_ptr<z_stream, InflateEnd> cleanup(&zlib);
  zlib.next_in = const_cast<Bytef*>(zlib_data.data());  // zlib's API is not const-correct; it only reads
  size_t input_left = zlib_data.size();
  uint8_t chunk[1 << 16];
  while (out.size() <= cap) {
    const uInt feed = static_cast<uInt>(std::min<size_t>(input_left, std::numeric_limits<uInt>::max()));
    zlib.avail_in = feed;
    zlib.next_out = chunk;
    zlib.avail_out = static_cast<uInt>(std::min<uint64_t>(sizeof chunk, cap + 1 - out.size()));
    const int result = inflate(&zlib, Z_NO_FLUSH);
    input_left -= feed - zlib.avail_in;
    out.insert(out.end(), chunk, zlib.next_out);
    if (result == Z_STREAM_END) return Status::Ok();
    if (result != Z_OK) return DataLoss(std::string("zlib: ") + (zlib.msg ? zlib.msg : "corrupt data"));
    if (input_left == 0 && zlib.avail_out != 0) return DataLoss("zlib: the compressed object ends early");
  }
  return Status::Ok();
}

}  // namespace tollgate::ole2
