#include "human_output.h"

#include <fmt/format.h>

#include <algorithm>

namespace tollgate::cli {

void PrintReportLine(std::FILE* out, const std::string& path, const ScanReport& report) {
  if (report.verdict == Verdict::kClean) {
    fmt::print(out, "{}: OK\n", path);
    return;
  }
  // The first line is what clamscan users parse; the indented lines say where each deciding
  // finding sits inside the file.
  const Finding& first = report.findings[report.deciding.front()];
  fmt::print(out, "{}: {} FOUND\n", path, first.rule);
  for (size_t index : report.deciding) {
    const Finding& f = report.findings[index];
    fmt::print(out, "  {} {} {} [{}] in {}{}{}\n", ToString(report.verdict), f.engine, f.rule, ToString(f.severity),
               f.object, f.offset ? fmt::format(" at offset {}", *f.offset) : "",
               f.detail.empty() ? "" : " (" + f.detail + ")");
  }
}

void ScanTotals::Add(const ScanReport& report) {
  ++files;
  ++by_verdict[static_cast<int>(report.verdict)];
  bytes += report.size;
  layers += report.layers;
  if (report.action == Action::kBlock) ++blocked;
  for (const StageTime& stage : report.stages) {
    auto total = std::find_if(stages.begin(), stages.end(), [&](const StageTime& s) { return s.stage == stage.stage; });
    if (total == stages.end()) {
      stages.push_back(stage);
    } else {
      total->time += stage.time;
      total->calls += stage.calls;
      total->bytes += stage.bytes;
    }
  }
}

ScannerIdentity IdentityOf(const ScanRunner& runner) {
  return {runner.setup().rules_version(), std::string(runner.setup().policy_name()), runner.engines()};
}

void PrintSummary(std::FILE* out, const ScannerIdentity& scanner, const ScanTotals& totals) {
  fmt::print(out, "\n----------- SCAN SUMMARY -----------\n");
  fmt::print(out, "Rules version: {}\n", scanner.rules_version);
  fmt::print(out, "Policy: {}\n", scanner.policy);
  for (const EngineInfo& engine : scanner.engines) {
    fmt::print(out, "Engine {}: {} rules\n", engine.name, engine.rule_count);
  }
  fmt::print(out, "Scanned files: {}\n", totals.files);
  fmt::print(out, "Blocked files: {}\n", totals.blocked);
  fmt::print(out, "Verdicts: clean {}, suspicious {}, malicious {}, incomplete {}\n",
             totals.by_verdict[static_cast<int>(Verdict::kClean)],
             totals.by_verdict[static_cast<int>(Verdict::kSuspicious)],
             totals.by_verdict[static_cast<int>(Verdict::kMalicious)],
             totals.by_verdict[static_cast<int>(Verdict::kIncomplete)]);
  fmt::print(out, "Errors: {}\n", totals.errors);
  const double mb = static_cast<double>(totals.bytes) / 1e6;
  fmt::print(out, "Data scanned: {:.2f} MB\n", mb);
  const double seconds = totals.seconds > 0 ? totals.seconds : 1e-9;
  fmt::print(out, "Time: {:.3f} s ({:.1f} files/s, {:.2f} MB/s)\n", totals.seconds,
             static_cast<double>(totals.files) / seconds, mb / seconds);
}

}  // namespace tollgate::cli
