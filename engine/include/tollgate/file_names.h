// What a layer's name says: its file name and extensions. Names are claims, never the type (that is
// libmagic's or the unpacker's), but they decide how Windows opens a file, so scripts are told by
// name: Windows runs `invoice.js` with its script host whatever libmagic calls its text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tollgate {

// The leaf's file name: after the last '/' or '\' (archive members written on Windows use '\').
std::string_view FileName(std::string_view leaf);

// Lower-case extensions of a file name, last one last: "Invoice.PDF.exe" → {"pdf", "exe"}. A leading
// dot is a hidden file, not an extension.
std::vector<std::string> Extensions(std::string_view name);

// Whether Windows runs a file with this (lower-case) extension as a script or shortcut when it is
// opened: js, jse, vbs, vbe, wsf, wsh, hta, ps1, psm1, bat, cmd, sct, lnk.
bool IsScriptExtension(std::string_view extension);

}  // namespace tollgate
