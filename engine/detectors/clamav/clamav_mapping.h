// How libclamav's reports become Tollgate values: findings, statuses, layer names, scan options.
// Internal to the ClamAV detector (and its tests).
#pragma once

#include <clamav.h>

#include <string>
#include <string_view>

#include "tollgate/status.h"
#include "tollgate/verdict.h"

namespace tollgate::clamav {

inline constexpr std::string_view kEngineName = "clamav";

// The finding for one match, `virus_name` exactly as libclamav reports it (".UNOFFICIAL" included),
// on the layer whose ObjectPath is `object`.
//   "Heuristics.Limits.Exceeded*" -> kIncomplete, reason "limit", high
//   "Heuristics.Encrypted.*"      -> kIncomplete, reason "encrypted", high
//   other "Heuristics.*"          -> kHeuristic, medium
//   anything else                 -> kSignature, high
Finding FindingForVirusName(std::string_view virus_name, std::string object);

// The Status for what cl_scanmap_callback returned while scanning the layer named `object`.
Status StatusForScanResult(cl_error_t result, std::string_view object);

// The ObjectPath element for a layer libclamav announced with `file_name` (may be null) and `type`
// ("CL_TYPE_HTML"): the name itself, or "[CL_TYPE_HTML]" when it has none or only the random name of
// libclamav's temporary file (which would make paths differ between identical scans).
std::string LayerName(const char* file_name, std::string_view type);

// The options for scanning a file-like layer that Tollgate's unpacker `unpacked_by` (empty: none)
// already unpacks: every libclamav parser except the ones that unpacker replaces.
cl_scan_options ScanOptionsFor(std::string_view unpacked_by);
// The options for content streams (LayerKind): body signatures, and the parsers of formats that
// may hide inside a stream (archives, executables, documents), but not libclamav's text parsers
// (HTML, mail, XML documents), which would read page content or document XML as a web page or a
// message (and cost more than everything else libclamav does on content).
cl_scan_options ContentScanOptions();

}  // namespace tollgate::clamav
