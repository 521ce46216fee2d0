#include "heuristics.h"

#include <fmt/format.h>

namespace tollgate::pdf {
namespace {

struct HeuristicRule {
  const char* rule;
  Severity severity;
  const char* meaning;
};

// Indexed by Heuristic. Severities follow the finding conventions: high = the document acts on its
// own (auto-run script, launch, obfuscation), medium/low = capability worth blocking by default.
constexpr std::array<HeuristicRule, static_cast<size_t>(Heuristic::kCount)> kRules = {{
    {"Tollgate.PDF.JavaScript", Severity::kMedium, "JavaScript"},
    {"Tollgate.PDF.OpenActionJavaScript", Severity::kHigh, "OpenAction runs JavaScript when the document opens"},
    {"Tollgate.PDF.AdditionalActionJavaScript", Severity::kHigh,
     "additional action (/AA) runs JavaScript without user interaction"},
    {"Tollgate.PDF.AutomaticAction", Severity::kHigh,
     "opens the web or a file when the document or a page opens, without a click"},
    {"Tollgate.PDF.Launch", Severity::kHigh, "Launch action starts a program or opens a file"},
    {"Tollgate.PDF.SubmitForm", Severity::kLow, "SubmitForm action sends form data"},
    {"Tollgate.PDF.ImportData", Severity::kMedium, "ImportData action loads form data from a file"},
    {"Tollgate.PDF.RichMedia", Severity::kMedium, "RichMedia (Flash or video) content"},
    {"Tollgate.PDF.XFA", Severity::kLow, "XFA form, which may carry scripts"},
    // The attachment is scanned as a layer of its own and decides for itself; that a PDF has one says
    // nothing (e-invoices such as Factur-X carry their XML so).
    {"Tollgate.PDF.EmbeddedFile", Severity::kInfo, "embedded file"},
    {"Tollgate.PDF.NameObfuscation", Severity::kHigh, "hex-escaped name spells a key viewers act on"},
}};

}  // namespace

void HeuristicTally::Note(Heuristic heuristic, std::string where) {
  Occurrences& seen = seen_[static_cast<size_t>(heuristic)];
  if (seen.count > 0 && seen.last == where) return;
  if (seen.count == 0) seen.first = where;
  ++seen.count;
  seen.last = std::move(where);
}

void HeuristicTally::Report(const ObjectPath& pdf, ChildSink& sink) const {
  for (size_t i = 0; i < seen_.size(); ++i) {
    const Occurrences& seen = seen_[i];
    if (seen.count == 0) continue;
    Finding finding;
    finding.engine = "tollgate";
    finding.rule = kRules[i].rule;
    finding.severity = kRules[i].severity;
    finding.kind = FindingKind::kHeuristic;
    finding.object = pdf.ToString();
    finding.detail = fmt::format("{}: first in {}{}", kRules[i].meaning, seen.first,
                                 seen.count > 1 ? fmt::format(", {} places in all", seen.count) : "");
    sink.Report(std::move(finding));
  }
}

}  // namespace tollgate::pdf
