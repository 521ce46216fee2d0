// SHA-256 (OpenSSL EVP), the one digest of uploads, rule files, manifests, audit records and tokens.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tollgate {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::span<const uint8_t> bytes);
  void Update(std::string_view text);
  std::string HexDigest();  // finishes the hash; call once

 private:
  struct Ctx;
  Ctx* ctx_;
};

// Lower-case hex of the SHA-256 of `bytes`.
std::string Sha256Hex(std::span<const uint8_t> bytes);
std::string Sha256Hex(std::string_view text);
// The 32 bytes of the SHA-256 of `text`.
std::array<uint8_t, 32> Sha256Digest(std::string_view text);

}  // namespace tollgate
