// The \x01Ole10Native stream of an embedded OLE1 object. For the Packager ("Package" class, how
// Office embeds an arbitrary file) it holds a header naming the file, then the file itself.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace tollgate::ole2 {

struct PackagedFile {
  std::string label;                  // the embedded file's name as shown in the document, UTF-8
  std::span<const uint8_t> contents;  // a view into the stream
};

// The file a Packager stream carries; nullopt when the stream is not in the Packager's layout (other
// OLE1 servers store their own native data, which the stream itself already exposes).
std::optional<PackagedFile> ParsePackagerStream(std::span<const uint8_t> stream);

}  // namespace tollgate::ole2
