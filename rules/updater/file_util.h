// Small file-system helpers for the updater: hashing, bounded reads, and writes that survive a crash
// (write aside, fsync, rename, fsync the folder).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "tollgate/status.h"

namespace tollgate::rules {

StatusOr<std::string> Sha256OfFile(const std::filesystem::path& path);
// Refuses files larger than `max_bytes` rather than reading them.
StatusOr<std::string> ReadSmallFile(const std::filesystem::path& path, uint64_t max_bytes);
// Replaces `path` with `content` atomically and durably.
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view content);
Status SyncDirectory(const std::filesystem::path& dir);
// fsync()s every file and folder below `root`, and `root` itself.
Status SyncTree(const std::filesystem::path& root);

}  // namespace tollgate::rules
