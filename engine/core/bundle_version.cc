#include "tollgate/bundle_version.h"

#include <algorithm>
#include <charconv>

namespace tollgate {

std::optional<BundleVersion> BundleVersion::Parse(std::string_view text) {
  constexpr size_t kMaxNumbers = 8;
  BundleVersion version;
  version.text_ = std::string(text);
  size_t start = 0;
  while (true) {
    const size_t dot = std::min(text.find('.', start), text.size());
    const std::string_view part = text.substr(start, dot - start);
    uint64_t number = 0;
    if (part.empty() || part.size() > 18 || (part.size() > 1 && part.front() == '0') ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    std::from_chars(part.data(), part.data() + part.size(), number);
    version.numbers_.push_back(number);
    if (dot == text.size()) break;
    start = dot + 1;
  }
  if (version.numbers_.size() > kMaxNumbers) return std::nullopt;
  return version;
}

std::strong_ordering operator<=>(const BundleVersion& a, const BundleVersion& b) {
  const size_t n = std::max(a.numbers_.size(), b.numbers_.size());
  for (size_t i = 0; i < n; ++i) {
    const uint64_t x = i < a.numbers_.size() ? a.numbers_[i] : 0;
    const uint64_t y = i < b.numbers_.size() ? b.numbers_[i] : 0;
    if (x != y) return x <=> y;
  }
  return std::strong_ordering::equal;
}

}  // namespace tollgate
