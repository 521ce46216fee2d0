// `tollgate`: the command-line front end.
#include <CLI/CLI.hpp>

#include "audit_command.h"
#include "rules_command.h"
#include "scan_command.h"
#include "serve_command.h"
#include "tollgate/sandbox/worker_pool.h"

int main(int argc, char** argv) {
  // Before anything else: this process may be a replacement for the sandbox's lost fork server.
  tollgate::sandbox::RunForkServerIfAsked(argc, argv);
  CLI::App app{"Tollgate: scans uploads with ClamAV, YARA and Hyperscan on every unpacked layer"};
  app.require_subcommand(1);
  int exit_code = 0;
  tollgate::cli::AddScanCommand(app, exit_code);
  tollgate::cli::AddServeCommand(app, exit_code);
  tollgate::cli::AddAuditCommand(app, exit_code);
  tollgate::cli::AddRulesCommand(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    // Help is success; every other usage error is an operational error (2), as documented.
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
