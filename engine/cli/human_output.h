// clamscan-style text output: `path: OK`, `path: RULE FOUND` with the layer that matched, and a
// summary block at the end.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "tollgate/scanner.h"

namespace tollgate::cli {

struct ScanTotals {
  size_t files = 0;
  size_t blocked = 0;
  size_t errors = 0;
  size_t by_verdict[4] = {0, 0, 0, 0};  // indexed by Verdict
  uint64_t bytes = 0;
  double seconds = 0;
  uint64_t layers = 0;
  std::vector<StageTime> stages;  // summed over files, each stage where it first appeared

  // Counts one file's report.
  void Add(const ScanReport& report);
};

// What scanned the files, for the summary: a local Scanner or the server of a remote scan.
struct ScannerIdentity {
  std::string rules_version;
  std::string policy;
  std::vector<EngineInfo> engines;
};
ScannerIdentity IdentityOf(const ScanRunner& runner);

void PrintReportLine(std::FILE* out, const std::string& path, const ScanReport& report);
void PrintSummary(std::FILE* out, const ScannerIdentity& scanner, const ScanTotals& totals);

}  // namespace tollgate::cli
