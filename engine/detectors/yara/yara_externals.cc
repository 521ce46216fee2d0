#include "yara_externals.h"

#include "tollgate/file_names.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace tollgate::yara {
namespace {

// A type matches on libmagic's exact MIME type, on the start of its description (for types whose
// MIME type is shared or generic, such as "text/plain" PowerShell scripts), or on the layer's first
// bytes (layers other than the root have no description).
// Unused array slots stay empty and match nothing.
struct ThorType {
  std::string_view name;
  std::array<std::string_view, 5> mimes;
  std::array<std::string_view, 2> description_starts;
  std::string_view leading_bytes = {};
};

// OOXML before ZIP: both are zip files, libmagic tells them apart.
constexpr ThorType kThorTypes[] = {
    {"EXE",
     {"application/vnd.microsoft.portable-executable", "application/x-dosexec"},
     {"PE32", "MS-DOS executable"}},
    {"ELF",
     {"application/x-executable", "application/x-pie-executable", "application/x-sharedlib", "application/x-object",
      "application/x-coredump"},
     {"ELF "},
     "\x7f" "ELF"},
    {"MACH-O", {"application/x-mach-binary"}, {"Mach-O"}},
    {"DOCX",
     {"application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
     {"Microsoft Word 2007+"}},
    {"XLSX",
     {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
     {"Microsoft Excel 2007+"}},
    {"PPTX",
     {"application/vnd.openxmlformats-officedocument.presentationml.presentation"},
     {"Microsoft PowerPoint 2007+"}},
    {"ZIP", {"application/zip"}, {"Zip archive data"}},
    {"PDF", {"application/pdf"}, {"PDF document"}},
    {"DOC",
     {"application/x-ole-storage", "application/CDFV2", "application/msword", "application/vnd.ms-excel",
      "application/vnd.ms-powerpoint"},
     {"Composite Document File"},
     "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"},
    {"RTF", {"text/rtf"}, {"Rich Text Format"}},
    {"JPEG", {"image/jpeg"}, {"JPEG image"}},
    {"PNG", {"image/png"}, {"PNG image"}},
    {"GIF", {"image/gif"}, {"GIF image"}},
    {"BATCH", {"text/x-msdos-batch"}, {"DOS batch file"}},
    {"PHP", {"text/x-php"}, {"PHP script"}},
    {"Python", {"text/x-script.python"}, {"Python script"}},
};

bool Contains(const auto& values, std::string_view value) {
  return !value.empty() && std::find(values.begin(), values.end(), value) != values.end();
}

bool StartsWithAny(std::string_view text, const auto& prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](std::string_view prefix) { return !prefix.empty() && text.starts_with(prefix); });
}

std::string_view AsText(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

bool IsPowerShell(std::string_view interpreter) {
  interpreter = interpreter.substr(0, interpreter.find_first_of(" ,\r\n"));
  interpreter = interpreter.substr(interpreter.find_last_of('/') + 1);
  return interpreter == "pwsh" || interpreter == "powershell";
}

// libmagic knows no PowerShell magic; it names scripts by their shebang interpreter instead:
// "a /usr/bin/pwsh -File script, ASCII text executable", from "#!/usr/bin/pwsh -File".
bool IsPowerShellScript(std::string_view description, std::span<const uint8_t> bytes) {
  if (description.starts_with("a ")) return IsPowerShell(description.substr(2));
  const std::string_view text = AsText(bytes);
  if (!text.starts_with("#!")) return false;
  const std::string_view command = text.substr(2, text.find_first_of("\r\n") - 2);
  const size_t start = command.find_first_not_of(' ');
  return start != std::string_view::npos && IsPowerShell(command.substr(start));
}

}  // namespace

std::string_view ThorFileType(const FileType& type, std::span<const uint8_t> bytes) {
  for (const ThorType& thor : kThorTypes) {
    if (Contains(thor.mimes, type.mime) || StartsWithAny(type.description, thor.description_starts) ||
        (!thor.leading_bytes.empty() && AsText(bytes).starts_with(thor.leading_bytes))) {
      return thor.name;
    }
  }
  return IsPowerShellScript(type.description, bytes) ? "PowerShell" : "";
}

std::vector<ExternalVariable> ExternalVariablesFor(const ScanObject& object) {
  const std::string_view filename = FileName(object.path.leaf());
  const std::vector<std::string> extensions = Extensions(filename);
  return {
      {"filename", std::string(filename)},
      {"filepath", object.path.ToString()},
      {"extension", extensions.empty() ? "" : "." + extensions.back()},
      {"filetype", std::string(ThorFileType(object.type, object.bytes))},
      {"owner", ""},
      {"tollgate_prose", object.prose},
  };
}

}  // namespace tollgate::yara
