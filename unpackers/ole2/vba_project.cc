#include "vba_project.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <optional>

#include "little_endian.h"
#include "text_names.h"

namespace tollgate::ole2 {
namespace {

constexpr size_t kChunkSize = 4096;  // decompressed bytes per chunk
constexpr uint16_t kChunkSignature = 0b011;

// [MS-OVBA] 2.3.4.2 record ids this reader uses.
constexpr uint16_t kProjectVersion = 0x0009;
constexpr uint16_t kModuleName = 0x0019;
constexpr uint16_t kModuleNameUnicode = 0x0047;
constexpr uint16_t kModuleStreamName = 0x001A;
constexpr uint16_t kModuleStreamNameUnicode = 0x0032;
constexpr uint16_t kModuleOffset = 0x0031;
constexpr uint16_t kModuleTerminator = 0x002B;
constexpr uint16_t kDirTerminator = 0x0010;

// One compressed chunk's token sequences ([MS-OVBA] 2.4.1.3.4).
Status DecompressTokens(std::span<const uint8_t> data, uint64_t cap, std::vector<uint8_t>& out) {
  const size_t chunk_start = out.size();
  size_t at = 0;
  while (at < data.size() && out.size() <= cap) {
    const uint8_t flags = data[at++];
    for (int bit = 0; bit < 8 && at < data.size(); ++bit) {
      if ((flags >> bit & 1) == 0) {
        out.push_back(data[at++]);
        continue;
      }
      if (at + 2 > data.size()) return DataLoss("VBA compression: truncated copy token");
      const uint16_t token = Le16(data, at);
      at += 2;
      const size_t written = out.size() - chunk_start;
      if (written == 0) return DataLoss("VBA compression: copy token before any literal");
      // The split between offset and length bits grows with the chunk's decompressed size.
      const int offset_bits = std::max<int>(std::bit_width(written - 1), 4);
      const int length_bits = 16 - offset_bits;
      const size_t length = (token & (0xFFFFu >> offset_bits)) + 3;
      const size_t offset = (token >> length_bits) + 1;
      if (offset > written) return DataLoss("VBA compression: copy token reaches before the chunk");
      for (size_t i = 0; i < length; ++i) {
        const uint8_t byte = out[out.size() - offset];
        out.push_back(byte);
      }
    }
  }
  return Status::Ok();
}

std::string ModuleText(uint16_t id, std::span<const uint8_t> data) {
  return id == kModuleNameUnicode || id == kModuleStreamNameUnicode ? Utf16LeToUtf8(data) : Latin1ToUtf8(data);
}

}  // namespace

Status DecompressVba(std::span<const uint8_t> compressed, uint64_t cap, std::vector<uint8_t>& out) {
  if (compressed.empty() || compressed[0] != 0x01) return DataLoss("VBA compression: no signature byte");
  size_t at = 1;
  while (at < compressed.size() && out.size() <= cap) {
    if (at + 2 > compressed.size()) return DataLoss("VBA compression: truncated chunk header");
    const uint16_t header = Le16(compressed, at);
    at += 2;
    if ((header >> 12 & 0b111) != kChunkSignature) return DataLoss("VBA compression: bad chunk signature");
    // The header counts the chunk's bytes minus 3, itself included; a last chunk may be cut short.
    const size_t data_size = std::min<size_t>((header & 0x0FFF) + 1, compressed.size() - at);
    std::span<const uint8_t> data = compressed.subspan(at, data_size);
    at += data_size;
    if (header & 0x8000) {
      TOLLGATE_RETURN_IF_ERROR(DecompressTokens(data, cap, out));
    } else {
      out.insert(out.end(), data.begin(), data.begin() + std::min(data.size(), kChunkSize));
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<VbaModule>> ParseVbaDirStream(std::span<const uint8_t> dir) {
  std::vector<VbaModule> modules;
  std::optional<VbaModule> module;
  size_t at = 0;
  while (at + 6 <= dir.size()) {
    const uint16_t id = Le16(dir, at);
    // PROJECTVERSION's size field holds 4, yet 6 bytes follow it (VersionMajor and VersionMinor).
    const size_t size = id == kProjectVersion ? 6 : Le32(dir, at + 2);
    at += 6;
    if (size > dir.size() - at) {
      return DataLoss(fmt::format("VBA dir stream: record 0x{:04X} runs past the stream", id));
    }
    std::span<const uint8_t> data = dir.subspan(at, size);
    at += size;
    switch (id) {
      case kModuleName:
        if (module) modules.push_back(std::move(*module));  // a module without its terminator
        module = VbaModule{ModuleText(id, data), {}, 0};
        break;
      case kModuleNameUnicode:
        if (module) module->name = ModuleText(id, data);
        break;
      case kModuleStreamName:
      case kModuleStreamNameUnicode:
        if (module) module->stream_name = ModuleText(id, data);
        break;
      case kModuleOffset:
        if (module && size == 4) module->source_offset = Le32(data, 0);
        break;
      case kModuleTerminator:
        if (module) modules.push_back(std::move(*module));
        module.reset();
        break;
      case kDirTerminator:
        if (module) modules.push_back(std::move(*module));
        return modules;
      default: break;
    }
  }
  return DataLoss("VBA dir stream ends without its terminator record");
}

}  // namespace tollgate::ole2
