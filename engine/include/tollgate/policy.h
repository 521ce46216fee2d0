// Policy: turns an upload's findings into a verdict and an action, and says which findings decided.
//
// The default policy for document uploads: any high-severity signature or heuristic makes the
// upload `malicious`; otherwise anything that could not be fully scanned makes it `incomplete`;
// otherwise any low/medium finding makes it `suspicious`; info findings never change the verdict.
// Everything that is not `clean` is blocked (fail-closed). Immutable; safe to share between threads.
#pragma once

#include <vector>

#include "tollgate/verdict.h"

namespace tollgate {

struct Decision {
  Verdict verdict = Verdict::kClean;
  Action action = Action::kAllow;
  std::vector<size_t> deciding;  // indices into the findings passed to Decide
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual Decision Decide(const std::vector<Finding>& findings) const = 0;
};

const Policy& DefaultPolicy();

}  // namespace tollgate
