// clamscan-style text output: `path: OK`, `path: RULE FOUND` with the layer that matched, and a
// summary block at the end.
#pragma once

#include <cstdio>
#include <string>

#include "tollgate/scanner.h"

namespace tollgate::cli {

struct ScanTotals {
  size_t files = 0;
  size_t blocked = 0;
  size_t errors = 0;
  size_t by_verdict[4] = {0, 0, 0, 0};  // indexed by Verdict
  uint64_t bytes = 0;
  double seconds = 0;
};

void PrintReportLine(std::FILE* out, const std::string& path, const ScanReport& report);
void PrintSummary(std::FILE* out, const Scanner& scanner, const ScanTotals& totals);

}  // namespace tollgate::cli
