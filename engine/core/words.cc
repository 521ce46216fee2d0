#include "words.h"

#include "tollgate/file_names.h"

namespace tollgate {

bool IsProse(const ScanObject& layer, Words declared, bool container) {
  if (declared != Words::kByType) return declared == Words::kProse;
  if (container) return true;
  const std::string_view mime = layer.type.mime;
  if (mime != "text/plain" && mime != "text/markdown" && mime != "text/x-markdown") return false;
  // Windows opens a file by its last extension: "notes.js" runs, "notes.js.txt" is read.
  const std::vector<std::string> extensions = Extensions(FileName(layer.path.leaf()));
  return extensions.empty() || !IsScriptExtension(extensions.back());
}

}  // namespace tollgate
