// Bounds an OLE2 compound file's structure ([MS-CFB]) before libgsf reads it.
//
// libgsf 1.14 trusts three things in a compound file: it parses the directory recursively (one C
// stack frame of ~250 bytes per entry along a sibling/child path), inserts every entry into its
// storage's sorted list (quadratic in the siblings), and puts a bitmap of the FAT or mini FAT on the
// stack (alloca, one bit per table entry). A 5 MB file whose 40,000 directory entries form one
// sibling chain overflows a 4 MiB TBB worker stack (checked with libgsf 1.14.50); a large FAT
// declaration does the same through alloca. CheckCompoundFileBounds refuses such files first.
#pragma once

#include <cstdint>
#include <span>

#include "tollgate/status.h"

namespace tollgate::ole2 {

struct CompoundFileBounds {
  uint32_t max_directory_entries = 16'384;  // real documents have hundreds; sorting stays ~0.2 s
  uint32_t max_directory_depth = 2'048;     // ~0.5 MiB of libgsf's recursion
  uint32_t max_table_entries = 1u << 21;    // FAT or mini FAT entries: a 256 KiB stack bitmap
};

// DataLoss (a parse error) when `file` is not a compound file within `bounds`; OK otherwise.
// Reads only what it checks and never allocates more than the directory's size in bits.
Status CheckCompoundFileBounds(std::span<const uint8_t> file, const CompoundFileBounds& bounds = {});

}  // namespace tollgate::ole2
