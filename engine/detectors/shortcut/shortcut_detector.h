// The shortcut detector (see shortcut_detector.cc), and the Shell Link reader it uses.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "tollgate/detector.h"

namespace tollgate {

DetectorFactory MakeDetectorFactory_shortcut();

namespace shortcut {

// What a Windows shortcut (.lnk, [MS-SHLLINK]) runs, as UTF-8.
struct ShellLink {
  std::string target;     // LinkInfo's local base path, else the relative path
  std::string arguments;  // COMMAND_LINE_ARGUMENTS
  std::string working_directory;
};

// nullopt unless `bytes` start with a Shell Link header; fields past the end of the data stay empty.
std::optional<ShellLink> ReadShellLink(std::span<const uint8_t> bytes);

}  // namespace shortcut
}  // namespace tollgate
