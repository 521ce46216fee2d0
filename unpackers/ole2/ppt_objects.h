// OLE objects inside a PowerPoint 97-2003 "PowerPoint Document" stream ([MS-PPT] ExOleObjStg):
// embedded files, ActiveX controls and the VBA project are each stored there as a compound file,
// usually zlib-compressed.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tollgate/status.h"

namespace tollgate::ole2 {

struct PptStoredObject {
  uint64_t offset = 0;  // of its record in the stream
  bool compressed = false;
  uint32_t declared_size = 0;     // decompressed size the record claims (compressed objects only)
  std::span<const uint8_t> data;  // zlib stream or the compound file itself
};

// The ExOleObjStg records among the stream's top-level records, in order.
std::vector<PptStoredObject> FindPptStoredObjects(std::span<const uint8_t> stream);

// Inflates a compressed object into `out`, stopping once `out` holds more than `cap` bytes.
// DataLoss when the zlib data is corrupt or ends early; `out` then holds what was inflated.
Status InflatePptObject(std::span<const uint8_t> zlib_data, uint64_t cap, std::vector<uint8_t>& out);

}  // namespace tollgate::ole2
