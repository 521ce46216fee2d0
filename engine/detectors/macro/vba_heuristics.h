// Heuristics for VBA source: procedures Office runs by itself when a document opens or closes
// (auto-exec entry points), and calls that start programs, download or hide what they do.
//
// Works on module source as Office stores it and as libclamav extracts it (one file per project,
// lower-cased, with REM headers). Matching is case-insensitive on whole VBA identifiers; comments
// are skipped; ProgIDs ("WScript.Shell") and PowerShell count inside string literals too.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tollgate/verdict.h"

namespace tollgate::macro {

struct VbaAssessment {
  bool is_vba = false;                       // "Attribute VB_Name", or Sub/Function ... End Sub/Function
  std::vector<std::string> entry_points;     // auto-exec procedures defined ("AutoOpen"), in source order
  std::vector<std::string> dangerous_calls;  // canonical names ("CreateObject"), in order of first use
};

// Reads `text` once, start to end.
VbaAssessment AssessVba(std::span<const uint8_t> text);

// The finding for a layer (`object`) with this assessment; nullopt when there is none:
// entry point and dangerous call: high "Tollgate.VBA.AutoExecDangerousCall"; only an entry point:
// medium "Tollgate.VBA.AutoExec"; only a dangerous call: medium "Tollgate.VBA.DangerousCall".
std::optional<Finding> MacroFinding(const VbaAssessment& assessment, std::string object);

}  // namespace tollgate::macro
