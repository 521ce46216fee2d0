// `tollgate rules keygen|sign|verify|update|rollback|status`: signed rule bundles and the rules store
// that `scan` and `serve` read with --rules-store (rules/updater/). Exit codes: see rules/updater/outcome.h
// and README.md "Rule updates".
#pragma once

#include <CLI/CLI.hpp>

namespace tollgate::cli {

void AddRulesCommand(CLI::App& app, int& exit_code);

}  // namespace tollgate::cli
