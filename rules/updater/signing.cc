#include "signing.h"

#include <openssl/evp.h>

#include <cctype>
#include <vector>

namespace tollgate::rules {
namespace fs = std::filesystem;

namespace {

std::string Base64(std::span<const uint8_t> bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), bytes.data(), static_cast<int>(bytes.size()));
  text.resize(static_cast<size_t>(n));
  return text;
}

// Exactly one signature's worth of base64, or nothing.
std::vector<uint8_t> DecodeSignature(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  if (text.size() != 4 * ((ed25519::kSignatureBytes + 2) / 3)) return {};
  std::vector<uint8_t> bytes(text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(bytes.data(), reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return {};
  // EVP_DecodeBlock counts the padding's zero bytes too.
  const size_t padding = static_cast<size_t>(text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0);
  bytes.resize(static_cast<size_t>(n) - padding);
  if (bytes.size() != ed25519::kSignatureBytes) return {};
  return bytes;
}

std::string KeyIdOf(const std::string& fingerprint) { return fingerprint.substr(0, 16); }

}  // namespace

Outcome GenerateKeyPair(const fs::path& private_file, const fs::path& public_file) {
  return Outcome::From(ed25519::GenerateKeyPair(private_file.string(), public_file.string()));
}

OutcomeOr<SigningKey> SigningKey::Load(const fs::path& private_file) {
  auto key = ed25519::PrivateKey::Load(private_file.string(), "the rules signing key");
  if (!key.ok()) return Outcome::From(key.status());
  return SigningKey(std::move(*key));
}

OutcomeOr<std::string> SigningKey::Sign(std::string_view message) const {
  auto signature = key_.Sign(message);
  if (!signature.ok()) return Outcome::From(signature.status());
  return Base64(*signature);
}

std::string SigningKey::KeyId() const { return KeyIdOf(key_.fingerprint()); }

OutcomeOr<VerifyKey> VerifyKey::Load(const fs::path& public_file) {
  auto key = ed25519::PublicKey::Load(public_file.string());
  if (!key.ok()) return Outcome::From(key.status());
  return VerifyKey(std::move(*key));
}

bool VerifyKey::Verify(std::string_view message, std::string_view signature) const {
  const std::vector<uint8_t> bytes = DecodeSignature(signature);
  return !bytes.empty() && key_.Verify(message, bytes);
}

std::string VerifyKey::KeyId() const { return KeyIdOf(key_.fingerprint()); }

}  // namespace tollgate::rules
