#include "zip_structure.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

namespace tollgate::zip {
namespace {

constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfCentralDirectory = 0x06054b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint32_t kZip64End = 0x06064b50;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kDataDescriptorFlag = 0x0008;

// Bounds-checked little-endian reads: every offset comes from the file.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  bool Has(uint64_t offset, uint64_t length) const {
    return offset <= bytes_.size() && length <= bytes_.size() - offset;
  }
  template <typename T>
  std::optional<T> Read(uint64_t offset) const {
    if (!Has(offset, sizeof(T))) return std::nullopt;
    T value = 0;
    for (size_t i = 0; i < sizeof(T); ++i) value |= static_cast<T>(bytes_[offset + i]) << (8 * i);
    return value;
  }
  std::span<const uint8_t> Slice(uint64_t offset, uint64_t length) const { return bytes_.subspan(offset, length); }
  uint64_t size() const { return bytes_.size(); }

 private:
  std::span<const uint8_t> bytes_;
};

struct Entry {
  uint16_t flags = 0, method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0, uncompressed = 0, local_offset = 0;
  std::span<const uint8_t> name;
};

// Replaces 0xFFFFFFFF sizes and offset by the ZIP64 extra field's values, in the order the format
// lists them.
void ApplyZip64Extra(const Reader& in, uint64_t extra_start, uint16_t extra_length, Entry& entry, bool with_offset) {
  for (uint64_t at = extra_start; at + 4 <= extra_start + extra_length;) {
    const uint16_t id = *in.Read<uint16_t>(at);
    const uint16_t length = *in.Read<uint16_t>(at + 2);
    if (id == kZip64ExtraId) {
      uint64_t field = at + 4;
      const uint64_t end = field + length;
      auto take = [&](uint64_t& value) {
        if (value == 0xFFFFFFFF && field + 8 <= end && in.Has(field, 8)) {
          value = *in.Read<uint64_t>(field);
          field += 8;
        }
      };
      take(entry.uncompressed);
      take(entry.compressed);
      if (with_offset) take(entry.local_offset);
      return;
    }
    at += 4 + length;
  }
}

struct Directory {
  uint64_t offset = 0, size = 0, entries = 0;
  uint64_t shift = 0;  // bytes prepended to the archive (self-extractors), added to every offset
};

std::optional<Directory> FindDirectory(const Reader& in, std::string& error) {
  const uint64_t lowest = in.size() > 65557 ? in.size() - 65557 : 0;
  for (uint64_t at = in.size() >= 22 ? in.size() - 22 : 0; in.size() >= 22; --at) {
    if (in.Read<uint32_t>(at) == kEndOfCentralDirectory) {
      Directory dir{*in.Read<uint32_t>(at + 16), *in.Read<uint32_t>(at + 12), *in.Read<uint16_t>(at + 10), 0};
      uint64_t directory_end = at;
      if ((dir.offset == 0xFFFFFFFF || dir.size == 0xFFFFFFFF || dir.entries == 0xFFFF) && at >= 20 &&
          in.Read<uint32_t>(at - 20) == kZip64Locator) {
        const uint64_t record = *in.Read<uint64_t>(at - 12);
        if (in.Read<uint32_t>(record) != kZip64End || !in.Has(record, 56)) {
          error = "ZIP64 end of central directory record missing";
          return std::nullopt;
        }
        dir.entries = *in.Read<uint64_t>(record + 32);
        dir.size = *in.Read<uint64_t>(record + 40);
        dir.offset = *in.Read<uint64_t>(record + 48);
        directory_end = at - 20;
      }
      if (dir.offset > directory_end || dir.size > directory_end - dir.offset) {
        error = "central directory lies outside the file";
        return std::nullopt;
      }
      dir.shift = directory_end - dir.offset - dir.size;
      return dir;
    }
    if (at == lowest) break;
  }
  error = "no end of central directory record";
  return std::nullopt;
}

}  // namespace

StructureProblem CheckZipStructure(std::span<const uint8_t> bytes) {
  const Reader in(bytes);
  std::string error;
  const std::optional<Directory> dir = FindDirectory(in, error);
  if (!dir) return {"parse_error", error};

  struct Range {
    uint64_t begin, end;
    uint64_t index;
  };
  std::vector<Range> ranges;
  uint64_t at = dir->offset + dir->shift;
  const uint64_t directory_end = at + dir->size;
  for (uint64_t index = 0; at < directory_end; ++index) {
    if (in.Read<uint32_t>(at) != kCentralHeader || !in.Has(at, 46)) {
      return {"parse_error", fmt::format("central directory entry {} is malformed", index)};
    }
    Entry central;
    central.flags = *in.Read<uint16_t>(at + 8);
    central.method = *in.Read<uint16_t>(at + 10);
    central.crc = *in.Read<uint32_t>(at + 16);
    central.compressed = *in.Read<uint32_t>(at + 20);
    central.uncompressed = *in.Read<uint32_t>(at + 24);
    const uint16_t name_length = *in.Read<uint16_t>(at + 28);
    const uint16_t extra_length = *in.Read<uint16_t>(at + 30);
    const uint16_t comment_length = *in.Read<uint16_t>(at + 32);
    central.local_offset = *in.Read<uint32_t>(at + 42);
    if (!in.Has(at + 46, uint64_t{name_length} + extra_length + comment_length)) {
      return {"parse_error", fmt::format("central directory entry {} runs past the file", index)};
    }
    central.name = in.Slice(at + 46, name_length);
    ApplyZip64Extra(in, at + 46 + name_length, extra_length, central, true);
    at += 46 + uint64_t{name_length} + extra_length + comment_length;

    const uint64_t local = central.local_offset + dir->shift;
    if (in.Read<uint32_t>(local) != kLocalHeader || !in.Has(local, 30)) {
      return {"header_mismatch", fmt::format("entry {} points to no local header", index)};
    }
    Entry header;
    header.flags = *in.Read<uint16_t>(local + 6);
    header.method = *in.Read<uint16_t>(local + 8);
    header.crc = *in.Read<uint32_t>(local + 14);
    header.compressed = *in.Read<uint32_t>(local + 18);
    header.uncompressed = *in.Read<uint32_t>(local + 22);
    const uint16_t local_name_length = *in.Read<uint16_t>(local + 26);
    const uint16_t local_extra_length = *in.Read<uint16_t>(local + 28);
    if (!in.Has(local + 30, uint64_t{local_name_length} + local_extra_length)) {
      return {"header_mismatch", fmt::format("local header of entry {} runs past the file", index)};
    }
    header.name = in.Slice(local + 30, local_name_length);
    ApplyZip64Extra(in, local + 30 + local_name_length, local_extra_length, header, false);

    const bool names_agree = std::equal(central.name.begin(), central.name.end(), header.name.begin(), header.name.end());
    // With a data descriptor the local header may leave CRC and sizes as zero.
    const bool sizes_agree = (header.flags & kDataDescriptorFlag) ||
                             (header.crc == central.crc && header.compressed == central.compressed &&
                              header.uncompressed == central.uncompressed);
    if (!names_agree || header.method != central.method || !sizes_agree ||
        (header.flags & 1) != (central.flags & 1)) {
      return {"header_mismatch", fmt::format("entry {}: central directory and local header disagree", index)};
    }
    const uint64_t data = local + 30 + local_name_length + local_extra_length;
    if (central.compressed > in.size() || data > in.size() - central.compressed) {
      return {"header_mismatch", fmt::format("entry {}: data runs past the file", index)};
    }
    ranges.push_back({local, data + central.compressed, index});
  }
  std::stable_sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].begin < ranges[i - 1].end) {
      return {"overlapping_entries",
              fmt::format("entries {} and {} share bytes", ranges[i - 1].index, ranges[i].index)};
    }
  }
  return {};
}

std::vector<uint16_t> CompressionMethods(std::span<const uint8_t> bytes) {
  const Reader in(bytes);
  std::string error;
  const std::optional<Directory> dir = FindDirectory(in, error);
  std::vector<uint16_t> methods;
  if (!dir) return methods;
  uint64_t at = dir->offset + dir->shift;
  const uint64_t directory_end = at + dir->size;
  while (at < directory_end && in.Read<uint32_t>(at) == kCentralHeader && in.Has(at, 46)) {
    const uint16_t method = *in.Read<uint16_t>(at + 10);
    if (std::find(methods.begin(), methods.end(), method) == methods.end()) methods.push_back(method);
    at += 46 + uint64_t{*in.Read<uint16_t>(at + 28)} + *in.Read<uint16_t>(at + 30) + *in.Read<uint16_t>(at + 32);
  }
  return methods;
}

}  // namespace tollgate::zip
