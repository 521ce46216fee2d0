#include "tollgate/audit/checkpoint_key.h"

#include <fmt/format.h>

#include <vector>

namespace tollgate::audit {
namespace {

bool DecodeHex(std::string_view hex, std::vector<uint8_t>& out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  out.resize(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int high = nibble(hex[2 * i]), low = nibble(hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<uint8_t>(high << 4 | low);
  }
  return true;
}

StatusOr<VerifyingKey> Verifying(StatusOr<ed25519::PublicKey> key) {
  if (!key.ok()) return key.status();
  return VerifyingKey(std::move(*key));
}

}  // namespace

StatusOr<SigningKey> SigningKey::Load(const std::string& pem_file) {
  auto key = ed25519::PrivateKey::Load(pem_file, "the audit signing key");
  if (!key.ok()) return key.status();
  return SigningKey(std::move(*key));
}

StatusOr<std::string> SigningKey::Sign(std::string_view message) const {
  auto signature = key_.Sign(message);
  if (!signature.ok()) return signature.status();
  std::string hex;
  hex.reserve(2 * signature->size());
  for (uint8_t byte : *signature) hex += fmt::format("{:02x}", byte);
  return hex;
}

StatusOr<VerifyingKey> VerifyingKey::Load(const std::string& pem_file) { return Verifying(ed25519::PublicKey::Load(pem_file)); }

StatusOr<VerifyingKey> VerifyingKey::FromPem(std::string_view pem) { return Verifying(ed25519::PublicKey::FromPem(pem)); }

bool VerifyingKey::Verify(std::string_view message, std::string_view signature_hex) const {
  std::vector<uint8_t> signature;
  return DecodeHex(signature_hex, signature) && key_.Verify(message, signature);
}

}  // namespace tollgate::audit
