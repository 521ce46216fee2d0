// The external variables THOR/LOKI-style rule sets (signature-base) condition on, and their values
// for one layer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tollgate/unpacker.h"

namespace tollgate::yara {

struct ExternalVariable {
  const char* name;
  std::variant<std::string, bool> value;
};

// filename, filepath, extension, filetype and owner for `object`, and Tollgate's own tollgate_prose
// (ScanObject::prose: keyword rules add `and not tollgate_prose`). A default-constructed ScanObject
// gives every string "" and tollgate_prose false, which is how the compiler declares them.
std::vector<ExternalVariable> ExternalVariablesFor(const ScanObject& object);

// THOR's short upper-case name for a layer's type ("EXE", "DOCX", "PHP"); "" when THOR has no name
// for it. From libmagic's MIME type and, where a layer has one (the root), its description; the
// types THOR names by what libmagic only describes are also told from the first bytes.
std::string_view ThorFileType(const FileType& type, std::span<const uint8_t> bytes = {});

}  // namespace tollgate::yara
