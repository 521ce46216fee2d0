// `tollgate audit verify DIR --pubkey PUB`: checks every file, link and checkpoint of an audit log;
// exit 0 and counts when it is intact, 1 and the first broken record (file, line, seq, what) when
// not, 2 on a usage error or a folder or key that cannot be read.
// `tollgate audit report DIR [--since DATE] [--json]`: blocks by rule and tenant, refused calls,
// rule changes and verdict counts for the periodic review; exit 0, or 2 when the log cannot be read.
#pragma once

#include <CLI/CLI.hpp>

namespace tollgate::cli {

void AddAuditCommand(CLI::App& app, int& exit_code);

}  // namespace tollgate::cli
