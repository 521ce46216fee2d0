// The one encoding of what a zygote is built from (proto/tollgate/sandbox/v1/zygote.proto): the
// server encodes it, the fork server hands it on, the zygote decodes it.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "tollgate/scanner.h"
#include "tollgate/status.h"
#include "worker.h"

namespace tollgate::sandbox {

std::string EncodeZygoteRequest(const ScannerOptions& options, const WorkerLimits& worker);
StatusOr<std::pair<ScannerOptions, WorkerLimits>> DecodeZygoteRequest(std::string_view bytes);

}  // namespace tollgate::sandbox
