// Policy: turns an upload's findings into a verdict and an action, and says which findings decided.
//
// A policy is a TOML file (rules/policies/documents.toml documents the format and is the default):
// each finding asks for a verdict (by its severity, or by the first override rule matching its
// engine, rule, severity, category and reason); the strongest verdict wins (malicious > incomplete
// > suspicious > clean), and the verdict maps to an action, with a per-reason switch for
// incomplete. The shipped default blocks everything that is not `clean`.
// Immutable once loaded; safe to share between threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tollgate/status.h"
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
  virtual std::string_view name() const = 0;
  virtual Decision Decide(const std::vector<Finding>& findings) const = 0;
};

// The shipped policy for document uploads (rules/policies/documents.toml, built in).
const Policy& DefaultPolicy();

// Parses a policy; `source` names it in error messages. Errors say which key is wrong and why.
StatusOr<std::unique_ptr<Policy>> ParsePolicy(std::string_view toml_text, std::string_view source);
StatusOr<std::unique_ptr<Policy>> LoadPolicyFile(const std::string& path);

}  // namespace tollgate
