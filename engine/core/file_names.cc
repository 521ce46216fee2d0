#include "tollgate/file_names.h"

#include <algorithm>
#include <array>

#include "tollgate/utf8.h"

namespace tollgate {

std::string_view FileName(std::string_view leaf) {
  const size_t slash = leaf.find_last_of("/\\");
  return slash == std::string_view::npos ? leaf : leaf.substr(slash + 1);
}

std::vector<std::string> Extensions(std::string_view name) {
  std::vector<std::string> extensions;
  size_t start = name.find('.', 1);
  while (start != std::string_view::npos) {
    const size_t next = name.find('.', start + 1);
    extensions.push_back(AsciiLowercase(name.substr(start + 1, next == std::string_view::npos ? next : next - start - 1)));
    start = next;
  }
  return extensions;
}

bool IsScriptExtension(std::string_view extension) {
  static constexpr std::array<std::string_view, 13> kScriptExtensions = {
      "js", "jse", "vbs", "vbe", "wsf", "wsh", "hta", "ps1", "psm1", "bat", "cmd", "sct", "lnk"};
  return std::find(kScriptExtensions.begin(), kScriptExtensions.end(), extension) != kScriptExtensions.end();
}

}  // namespace tollgate
