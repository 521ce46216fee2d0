// Little-endian integers in Microsoft's binary formats. Callers check that the bytes exist.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tollgate::ole2 {

inline uint16_t Le16(std::span<const uint8_t> bytes, size_t at) {
  return static_cast<uint16_t>(bytes[at] | bytes[at + 1] << 8);
}

inline uint32_t Le32(std::span<const uint8_t> bytes, size_t at) {
  return uint32_t{Le16(bytes, at)} | uint32_t{Le16(bytes, at + 2)} << 16;
}

}  // namespace tollgate::ole2
