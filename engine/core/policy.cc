#include "tollgate/policy.h"

namespace tollgate {
namespace {

// The rank of the verdict one finding asks for; the highest rank decides.
Verdict VerdictFor(const Finding& finding) {
  if (finding.kind == FindingKind::kIncomplete) return Verdict::kIncomplete;
  switch (finding.severity) {
    case Severity::kHigh: return Verdict::kMalicious;
    case Severity::kMedium:
    case Severity::kLow: return Verdict::kSuspicious;
    case Severity::kInfo: return Verdict::kClean;
  }
  return Verdict::kMalicious;
}

int Rank(Verdict verdict) {
  switch (verdict) {
    case Verdict::kClean: return 0;
    case Verdict::kSuspicious: return 1;
    case Verdict::kIncomplete: return 2;  // not fully scanned outweighs a weak signal
    case Verdict::kMalicious: return 3;
  }
  return 3;
}

class DocumentUploadPolicy final : public Policy {
 public:
  Decision Decide(const std::vector<Finding>& findings) const override {
    Decision decision;
    for (const Finding& finding : findings) {
      if (Rank(VerdictFor(finding)) > Rank(decision.verdict)) decision.verdict = VerdictFor(finding);
    }
    if (decision.verdict == Verdict::kClean) return decision;
    for (size_t i = 0; i < findings.size(); ++i) {
      if (VerdictFor(findings[i]) == decision.verdict) decision.deciding.push_back(i);
    }
    decision.action = Action::kBlock;
    return decision;
  }
};

}  // namespace

const Policy& DefaultPolicy() {
  static const DocumentUploadPolicy policy;
  return policy;
}

}  // namespace tollgate
