#include "selftest.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "file_util.h"

namespace tollgate::rules {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kMaxExpectationsBytes = 16 << 20;
constexpr size_t kRegressionsListed = 10;

Outcome Failed(std::string message) { return Outcome(Reason::kSelfTestFailed, std::move(message)); }

std::optional<Verdict> ParseVerdict(std::string_view text) {
  for (Verdict verdict : {Verdict::kClean, Verdict::kSuspicious, Verdict::kMalicious, Verdict::kIncomplete}) {
    if (ToString(verdict) == text) return verdict;
  }
  return std::nullopt;
}

std::string Deciding(const ScanReport& report) {
  std::string rules;
  for (size_t index : report.deciding) {
    if (!rules.empty()) rules += ", ";
    rules += report.findings[index].rule;
  }
  return rules;
}

std::string Describe(Verdict verdict, const std::string& deciding) {
  return std::string(ToString(verdict)) + (deciding.empty() ? "" : " (" + deciding + ")");
}

// Regular files below `root`, relative, sorted; links are not followed.
StatusOr<std::vector<std::string>> ListFiles(const fs::path& root) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) files.push_back(it->path().lexically_relative(root).generic_string());
  }
  if (ec) return Status(StatusCode::kInternal, "cannot list " + root.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

OutcomeOr<size_t> RunSelfTest(const Scanner& scanner, const fs::path& bundle_dir) {
  const fs::path dir = bundle_dir / kSelfTestDir;
  auto text = ReadSmallFile(dir / kExpectationsFile, kMaxExpectationsBytes);
  if (!text.ok()) {
    return Failed("the bundle has no readable selftest/expected.json; every bundle must prove its rules on samples");
  }
  const nlohmann::json expectations = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (expectations.is_discarded() || !expectations.is_object() || expectations.empty()) {
    return Failed("selftest/expected.json: not a JSON object of samples");
  }
  auto files = ListFiles(dir);
  if (!files.ok()) return Outcome::From(files.status());
  for (const std::string& file : *files) {
    if (file != kExpectationsFile && !expectations.contains(file)) {
      return Failed("selftest/" + file + " has no expectation in selftest/expected.json");
    }
  }
  size_t passed = 0;
  for (const auto& [sample, expected] : expectations.items()) {
    const std::string name = "selftest/" + sample;
    if (!expected.is_object() || !expected.contains("verdict") || !expected["verdict"].is_string()) {
      return Failed(name + ": expectation needs {\"verdict\": \"clean|suspicious|malicious|incomplete\"}");
    }
    const std::optional<Verdict> verdict = ParseVerdict(expected["verdict"].get<std::string>());
    if (!verdict) return Failed(name + ": unknown verdict " + expected["verdict"].dump());
    std::vector<std::string> rules;
    if (expected.contains("rules")) {
      if (!expected["rules"].is_array()) return Failed(name + ": \"rules\" must be a list of rule names");
      for (const auto& rule : expected["rules"]) {
        if (!rule.is_string()) return Failed(name + ": \"rules\" must be a list of rule names");
        rules.push_back(rule.get<std::string>());
      }
    }
    if (std::find(files->begin(), files->end(), sample) == files->end()) return Failed(name + ": no such sample");
    auto report = scanner.ScanFile((dir / sample).string());
    if (!report.ok()) return Outcome::From(report.status());
    if (report->verdict != *verdict) {
      return Failed(name + ": expected " + std::string(ToString(*verdict)) + ", got " +
                    Describe(report->verdict, Deciding(*report)));
    }
    for (const std::string& rule : rules) {
      const bool found = std::any_of(report->findings.begin(), report->findings.end(),
                                     [&](const Finding& finding) { return finding.rule == rule; });
      if (!found) return Failed(name + ": " + std::string(ToString(*verdict)) + " as expected, but rule " + rule +
                                " did not match (got " + Describe(report->verdict, Deciding(*report)) + ")");
    }
    ++passed;
  }
  return passed;
}

StatusOr<CorpusResults> ScanCorpus(const Scanner& scanner, const fs::path& corpus) {
  auto files = ListFiles(corpus);
  if (!files.ok()) return files.status();
  std::vector<StatusOr<ScanReport>> reports(files->size(), Status(StatusCode::kInternal, "not scanned"));
  tbb::parallel_for(size_t{0}, files->size(),
                    [&](size_t i) { reports[i] = scanner.ScanFile((corpus / (*files)[i]).string()); });
  CorpusResults results;
  for (size_t i = 0; i < files->size(); ++i) {
    if (!reports[i].ok()) return reports[i].status();
    results[(*files)[i]] = {reports[i]->verdict, Deciding(*reports[i])};
  }
  return results;
}

Outcome CompareCorpus(const CorpusResults& baseline, const std::string& baseline_name, const CorpusResults& candidate) {
  std::vector<std::string> regressions;
  for (const auto& [sample, before] : baseline) {
    auto after = candidate.find(sample);
    if (after == candidate.end()) continue;
    if ((before.verdict == Verdict::kClean) != (after->second.verdict == Verdict::kClean)) {
      regressions.push_back(sample + ": " + Describe(before.verdict, before.deciding) + " with " + baseline_name +
                            ", " + Describe(after->second.verdict, after->second.deciding) + " with the new bundle");
    }
  }
  if (regressions.empty()) return Outcome::Ok();
  std::string message = std::to_string(regressions.size()) + " corpus sample(s) changed between clean and not clean: ";
  for (size_t i = 0; i < std::min(regressions.size(), kRegressionsListed); ++i) message += (i ? "; " : "") + regressions[i];
  if (regressions.size() > kRegressionsListed) message += "; …";
  return Outcome(Reason::kCorpusRegression, message);
}

}  // namespace tollgate::rules
