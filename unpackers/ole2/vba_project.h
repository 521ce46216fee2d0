// VBA projects ([MS-OVBA]): the dir stream that lists a project's modules, and the compression that
// dir and every module's source use.
//
// libgsf has a VBA reader (gsf_infile_msvba_new), but libgsf 1.14.50 reads a module's compression
// signature at the start of its stream instead of at the module's source offset, so it fails on
// every module Office writes (the compiled p-code comes first); hence this reader.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tollgate/status.h"

namespace tollgate::ole2 {

// Decompresses a CompressedContainer ([MS-OVBA] 2.4.1) into `out`, stopping once `out` holds more
// than `cap` bytes (the caller sees the overflow). DataLoss when the data is corrupt; `out` then
// holds what was decompressed before the fault.
Status DecompressVba(std::span<const uint8_t> compressed, uint64_t cap, std::vector<uint8_t>& out);

struct VbaModule {
  std::string name;            // UTF-8: MODULENAMEUNICODE if present, else MODULENAME (code page bytes)
  std::string stream_name;     // UTF-8: the module's stream in the VBA storage
  uint32_t source_offset = 0;  // where the compressed source starts in that stream
};

// The modules a decompressed dir stream lists ([MS-OVBA] 2.3.4.2). DataLoss when it is malformed.
StatusOr<std::vector<VbaModule>> ParseVbaDirStream(std::span<const uint8_t> dir);

}  // namespace tollgate::ole2
