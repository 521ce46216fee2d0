// Compiles rule files into one YR_RULES.
#pragma once

#include <string>
#include <vector>

#include "tollgate/status.h"
#include "yara_library.h"

namespace tollgate::yara {

struct CompiledRules {
  RulesPtr rules;
  std::vector<std::string> warnings;  // "file:line: message"
};

// Compiles every file into one rule set, each file in its own namespace (its path) so rule names
// from different files never clash; `include` resolves relative to the including file. The
// external variables of ExternalVariablesFor() are declared with "" first. Errors: NotFound for an
// unreadable file, InvalidArgument listing every compiler error as "file:line: message", one per
// line. The caller holds a LibraryRef.
StatusOr<CompiledRules> CompileRuleFiles(const std::vector<std::string>& files);

}  // namespace tollgate::yara
