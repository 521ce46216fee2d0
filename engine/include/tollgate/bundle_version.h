// A rule bundle's version, the one grammar for every reader: the manifest a scanner loads
// (engine/core/rule_bundle.cc) and the rules store and updater (rules/updater/).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate {

// Dot-separated decimal numbers without leading zeros ("2025.11.28.1", "42"), at most 8 of them,
// compared number by number; missing trailing numbers count as 0, so "3.1" and "3.1.0" are equal.
class BundleVersion {
 public:
  static std::optional<BundleVersion> Parse(std::string_view text);
  const std::string& text() const { return text_; }
  friend std::strong_ordering operator<=>(const BundleVersion& a, const BundleVersion& b);
  friend bool operator==(const BundleVersion& a, const BundleVersion& b) { return (a <=> b) == 0; }

 private:
  std::string text_;
  std::vector<uint64_t> numbers_;
};

}  // namespace tollgate
