// Scan limits: how much work one upload may cause. Enforced in one place (the pipeline's ChildSink),
// never re-implemented by an unpacker. A limit that is hit makes the verdict `incomplete` with a
// finding whose reason names the limit ("max_depth", "max_files", ...), never `clean`.
#pragma once

#include <chrono>
#include <cstdint>

namespace tollgate {

struct ScanLimits {
  uint32_t max_depth = 16;                          // layers below the root
  uint32_t max_files = 10'000;                      // layers in one upload, root included
  uint64_t max_layer_bytes = 256ull << 20;          // size of any single layer
  uint64_t max_total_bytes = 1ull << 30;            // bytes extracted from one upload, all layers
  // Uncompressed/compressed size of one child. Only checked for children above
  // `ratio_exempt_bytes`: small, highly compressible files (blank pages, padding) are common.
  double max_expansion_ratio = 250.0;
  uint64_t ratio_exempt_bytes = 1ull << 20;
  std::chrono::milliseconds max_scan_time{60'000};  // wall time for one upload, all layers
};

}  // namespace tollgate
