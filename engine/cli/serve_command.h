// `tollgate serve [options]`: the gRPC scanning service (engine/service/scan_server.h). Runs until
// SIGTERM or SIGINT, then drains and exits 0; exits 2 when it cannot start (bad option, address in
// use, rules that do not load, plain text on a non-loopback address without --allow-insecure-remote).
#pragma once

#include <CLI/CLI.hpp>

namespace tollgate::cli {

void AddServeCommand(CLI::App& app, int& exit_code);

}  // namespace tollgate::cli
