#include "ole10native.h"

#include <algorithm>

#include "little_endian.h"
#include "text_names.h"

namespace tollgate::ole2 {
namespace {

// Reads the Packager header's fields in order, each within the stream's bounds.
class FieldReader {
 public:
  explicit FieldReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  std::optional<uint32_t> U32() {
    if (bytes_.size() - at_ < 4) return std::nullopt;
    at_ += 4;
    return Le32(bytes_, at_ - 4);
  }
  bool Skip(size_t count) {
    if (bytes_.size() - at_ < count) return false;
    at_ += count;
    return true;
  }
  // A NUL-terminated string, without its NUL.
  std::optional<std::span<const uint8_t>> CString() {
    const auto rest = bytes_.subspan(at_);
    const auto nul = std::find(rest.begin(), rest.end(), uint8_t{0});
    if (nul == rest.end()) return std::nullopt;
    const size_t length = static_cast<size_t>(nul - rest.begin());
    at_ += length + 1;
    return rest.first(length);
  }
  std::optional<std::span<const uint8_t>> Bytes(uint32_t count) {
    if (bytes_.size() - at_ < count) return std::nullopt;
    at_ += count;
    return bytes_.subspan(at_ - count, count);
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t at_ = 0;
};

std::string BaseName(std::span<const uint8_t> path) {
  const auto separator = std::find_if(path.rbegin(), path.rend(), [](uint8_t c) { return c == '\\' || c == '/'; });
  return Latin1ToUtf8(path.subspan(static_cast<size_t>(path.rend() - separator)));
}

}  // namespace

std::optional<PackagedFile> ParsePackagerStream(std::span<const uint8_t> stream) {
  FieldReader reader(stream);
  const auto native_size = reader.U32();
  if (!native_size) return std::nullopt;
  FieldReader native(stream.subspan(4, std::min<size_t>(*native_size, stream.size() - 4)));
  if (!native.Skip(2)) return std::nullopt;  // flags
  const auto label = native.CString();
  const auto source_path = native.CString();
  if (!label || !source_path || !native.Skip(4)) return std::nullopt;  // reserved, object type
  const auto temp_path_size = native.U32();
  if (!temp_path_size || !native.Skip(*temp_path_size)) return std::nullopt;
  const auto contents_size = native.U32();
  if (!contents_size) return std::nullopt;
  const auto contents = native.Bytes(*contents_size);
  if (!contents) return std::nullopt;
  return PackagedFile{label->empty() ? BaseName(*source_path) : Latin1ToUtf8(*label), *contents};
}

}  // namespace tollgate::ole2
