// Where bundles come from: a local folder, a local .zip archive, or an https:// URL serving a .zip.
// The bundle is always copied first, so what is verified is exactly what gets installed.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "outcome.h"

namespace tollgate::rules {

struct FetchOptions {
  uint64_t max_bytes = 4ull << 30;  // largest download, and largest total of the files unpacked
  std::string ca_file;              // https: trust these CA certificates instead of the system's
  std::chrono::seconds timeout{600};
};

// Puts a copy of the bundle named by `source` into `work_dir` (an existing empty folder) and returns
// the copy's root: the archive's root, or its single top-level folder when the bundle sits in one.
// Links, special files, absolute or ".." names, encrypted entries and duplicate names are refused
// (kIntegrity); an unreachable or unreadable source is kSourceUnavailable.
OutcomeOr<std::filesystem::path> FetchBundle(const std::string& source, const std::filesystem::path& work_dir,
                                             const FetchOptions& options);

}  // namespace tollgate::rules
