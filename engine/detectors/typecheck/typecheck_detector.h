// Type truth: findings when a layer's name lies about its content (a PE named invoice.pdf), when a
// name hides an executable behind a document extension (invoice.pdf.exe, a right-to-left override),
// and for executables and scripts anywhere in an upload. It takes no rule files.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "tollgate/detector.h"

namespace tollgate {

DetectorFactory MakeDetectorFactory_typecheck();

namespace typecheck {
// The class of executable content a layer of this MIME type is ("PE executable", "shell script"...),
// or "". Binaries count only with a header their loader accepts: libmagic calls any data that starts
// with a jump opcode (0xE9) "DOS executable (COM)", and a picture in a document was blocked as one.
std::string_view ExecutableKind(std::string_view mime, std::span<const uint8_t> bytes);
}  // namespace typecheck

}  // namespace tollgate
