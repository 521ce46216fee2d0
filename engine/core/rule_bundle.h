// A rule bundle on disk: one folder per engine (yara/, hyperscan/, clamav/) plus extra files named on
// the command line. Resolves them to per-engine file lists and a content-derived version.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tollgate/status.h"

namespace tollgate {

struct RuleFiles {
  std::map<std::string, std::vector<std::string>> files_by_engine;  // sorted, stable
  // "sha256:<16 hex>" over every file's engine, name and content; a bundle with a manifest.json
  // (a signed bundle, rules/updater/bundle.h) prefixes its version: "2025.11.28.1+sha256:<16 hex>".
  std::string version;
};

// `engines` names the engine folders to look for. A missing bundle folder is an error; a missing or
// empty engine folder means no rules for that engine. Hidden files and *.md are not rules.
StatusOr<RuleFiles> ResolveRuleFiles(const std::string& bundle_dir,
                                     const std::vector<std::pair<std::string, std::string>>& extra_files,
                                     const std::vector<std::string>& engines);

}  // namespace tollgate
