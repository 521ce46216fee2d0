// The checks a bundle must pass before it is published: its own self-test, and no regression on the
// project's sample corpus.
//
// Self-test: selftest/expected.json maps each sample (a path relative to selftest/) to the verdict it
// must get and, optionally, rules that must be among its findings:
//
//   {"samples/acme-dropper.txt": {"verdict": "malicious", "rules": ["Acme.Dropper"]},
//    "samples/invoice.txt": {"verdict": "clean"}}
//
// Every other file in selftest/ must be such a sample. ClamAV signatures from unsigned databases
// carry libclamav's ".UNOFFICIAL" suffix in their name.
//
// Corpus: every sample the active version finds not clean stays not clean, and every sample it finds
// clean stays clean (a new rule must not block a known-good file).
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "outcome.h"
#include "tollgate/scanner.h"

namespace tollgate::rules {

inline constexpr std::string_view kSelfTestDir = "selftest";
inline constexpr std::string_view kExpectationsFile = "expected.json";

// Returns how many samples passed; kSelfTestFailed names the first sample that did not.
OutcomeOr<size_t> RunSelfTest(const Scanner& scanner, const std::filesystem::path& bundle_dir);

struct CorpusResult {
  Verdict verdict = Verdict::kClean;
  std::string deciding;  // the rules that decided it, for messages
};
using CorpusResults = std::map<std::string, CorpusResult>;  // by path relative to the corpus

StatusOr<CorpusResults> ScanCorpus(const Scanner& scanner, const std::filesystem::path& corpus);
// kCorpusRegression listing every sample that moved between clean and not clean.
Outcome CompareCorpus(const CorpusResults& baseline, const std::string& baseline_name, const CorpusResults& candidate);

}  // namespace tollgate::rules
