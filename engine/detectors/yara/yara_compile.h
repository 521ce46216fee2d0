// Compiles rule files into one YR_RULES.
#pragma once

#include <optional>
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
// from different files never clash; `include` resolves relative to the including file and is
// refused (an error naming it) when it leaves the folder of the rule file compiled. The
// external variables of ExternalVariablesFor() are declared with "" first. Errors: NotFound for an
// unreadable file, InvalidArgument listing every compiler error as "file:line: message", one per
// line. The caller holds a LibraryRef.
StatusOr<CompiledRules> CompileRuleFiles(const std::vector<std::string>& files);

// The first `include` of `file`, or of a file it includes, that leaves the folder of `file` (as
// written), or nullopt. libyara parses the file to find out, so an include after a comment or a
// rule on the same line is seen; other errors are left to the compile.
StatusOr<std::optional<std::string>> FirstEscapingInclude(const std::string& file);

}  // namespace tollgate::yara
