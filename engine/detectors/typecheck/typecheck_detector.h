// Type truth: findings when a layer's name lies about its content (a PE named invoice.pdf), when a
// name hides an executable behind a document extension (invoice.pdf.exe, a right-to-left override),
// and for executables and scripts anywhere in an upload. It takes no rule files.
#pragma once

#include <memory>

#include "tollgate/detector.h"

namespace tollgate {

DetectorFactory MakeDetectorFactory_typecheck();

namespace typecheck {
// The class of executable content a MIME type denotes ("PE executable", "shell script"...), or "".
std::string_view ExecutableKind(std::string_view mime);
}  // namespace typecheck

}  // namespace tollgate
