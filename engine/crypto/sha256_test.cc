// SHA-256 against the FIPS 180-2 test vectors, in each of its forms.
#include "tollgate/sha256.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

constexpr std::string_view kAbcHex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(Sha256, MatchesTheStandardsVectorsInEveryForm) {
  EXPECT_EQ(Sha256Hex(std::string_view("abc")), kAbcHex);
  const std::string_view abc = "abc";
  EXPECT_EQ(Sha256Hex(std::span(reinterpret_cast<const uint8_t*>(abc.data()), abc.size())), kAbcHex);
  Sha256 pieces;
  pieces.Update(std::string_view("a"));
  pieces.Update(std::string_view("bc"));
  EXPECT_EQ(pieces.HexDigest(), kAbcHex);
  const std::array<uint8_t, 32> digest = Sha256Digest("abc");
  EXPECT_EQ(digest[0], 0xba);
  EXPECT_EQ(digest[31], 0xad);
  EXPECT_EQ(Sha256Hex(std::string_view("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace tollgate
