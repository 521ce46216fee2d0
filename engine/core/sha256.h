// SHA-256 of a buffer as lower-case hex (OpenSSL EVP).
#pragma once

#include <cstdint>
#include <span>
#include <string>

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

std::string Sha256Hex(std::span<const uint8_t> bytes);

}  // namespace tollgate
