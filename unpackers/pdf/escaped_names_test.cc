// The raw-byte scan for hex-escaped sensitive names, on hand-written byte strings.
#include "escaped_names.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tollgate::pdf {
namespace {

// Every hit as "offset raw decoded".
std::vector<std::string> Hits(std::string_view text) {
  std::vector<std::string> hits;
  FindEscapedSensitiveNames(
      {reinterpret_cast<const uint8_t*>(text.data()), text.size()},
      [&](size_t offset, std::string_view raw, std::string_view decoded) {
        hits.push_back(std::to_string(offset) + " " + std::string(raw) + " " + std::string(decoded));
      });
  return hits;
}

TEST(EscapedNames, FindsEscapedSensitiveKeysWhereverTheyStand) {
  EXPECT_EQ(Hits("<< /S /Java#53cript /J#53 (app.alert\\(1\\)) >>"),
            (std::vector<std::string>{"6 /Java#53cript JavaScript", "20 /J#53 JS"}));
  EXPECT_EQ(
      Hits("/#4F#70#65#6E#41#63#74#69#6F#6E[1 0 R]/L#61unch/A#41<<>>"),
      (std::vector<std::string>{"0 /#4F#70#65#6E#41#63#74#69#6F#6E OpenAction", "38 /L#61unch Launch", "47 /A#41 AA"}));
  EXPECT_EQ(Hits("/EmbeddedFil#65"), (std::vector<std::string>{"0 /EmbeddedFil#65 EmbeddedFile"}));
}

TEST(EscapedNames, IgnoresPlainSensitiveNamesAndEscapedHarmlessOnes) {
  EXPECT_TRUE(Hits("<< /S /JavaScript /JS (x) /OpenAction 4 0 R >>").empty());
  EXPECT_TRUE(Hits("/BaseFont /Times#20New#20Roman /Type /Font").empty());
  // Names are case-sensitive: viewers do not act on /Javascript.
  EXPECT_TRUE(Hits("/Java#73cript").empty());
  // A '#' without two hex digits is kept as is.
  EXPECT_TRUE(Hits("/J#5 /JS#").empty());
  EXPECT_TRUE(Hits("").empty());
  EXPECT_TRUE(Hits("/").empty());
  EXPECT_TRUE(Hits("/J#53x").empty());
}

TEST(EscapedNames, ATokenEndsAtTheEndOfTheBuffer) {
  EXPECT_EQ(Hits("/J#53"), (std::vector<std::string>{"0 /J#53 JS"}));
  EXPECT_EQ(Hits("(text)/J#53"), (std::vector<std::string>{"6 /J#53 JS"}));
}

}  // namespace
}  // namespace tollgate::pdf
