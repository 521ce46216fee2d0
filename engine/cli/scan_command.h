// `tollgate scan [options] PATH...`: scans files and folders, prints one line per file (or JSON
// Lines with --json) and a summary. Exit code 0 when every file is allowed, 1 when any is blocked,
// 2 on an operational error (bad option, unreadable rules or files).
#pragma once

#include <CLI/CLI.hpp>

namespace tollgate::cli {

// Adds the `scan` subcommand to `app`; `exit_code` receives its result once it runs.
void AddScanCommand(CLI::App& app, int& exit_code);

}  // namespace tollgate::cli
