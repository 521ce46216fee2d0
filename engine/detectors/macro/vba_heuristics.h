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

// One module of a VBA project: its layer's object path and what it holds.
struct ModuleAssessment {
  std::string object;
  VbaAssessment assessment;
};

// The findings for all modules of one VBA project. Office runs an auto-exec entry point wherever
// it is defined and it may call a procedure of any other module, so an entry point in one module
// and a dangerous call in another make one high "Tollgate.VBA.AutoExecDangerousCall" for the
// project, on the module with the dangerous call (the first module with both, if any). Otherwise
// each module gets MacroFinding's. Modules are taken in object-path order.
std::vector<Finding> ProjectFindings(std::vector<ModuleAssessment> modules);

}  // namespace tollgate::macro
