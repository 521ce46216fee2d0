// Ed25519 keys and detached signatures of rule bundles (tollgate/ed25519.h), as manifest.sig holds
// them: one line of base64. A key is named by its key id, the first 16 hex digits of its fingerprint.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "outcome.h"
#include "tollgate/ed25519.h"

namespace tollgate::rules {

// Writes a new key pair; refuses to overwrite either file. The private key file is mode 0600.
Outcome GenerateKeyPair(const std::filesystem::path& private_file, const std::filesystem::path& public_file);

class SigningKey {
 public:
  // Refuses a key file that group or others may read.
  static OutcomeOr<SigningKey> Load(const std::filesystem::path& private_file);
  // The signature as one line of base64 (what manifest.sig holds).
  OutcomeOr<std::string> Sign(std::string_view message) const;
  std::string KeyId() const;  // of the matching public key

 private:
  explicit SigningKey(ed25519::PrivateKey key) : key_(std::move(key)) {}
  ed25519::PrivateKey key_;
};

class VerifyKey {
 public:
  static OutcomeOr<VerifyKey> Load(const std::filesystem::path& public_file);
  // `signature` is manifest.sig's text (base64, surrounding white space ignored).
  bool Verify(std::string_view message, std::string_view signature) const;
  std::string KeyId() const;

 private:
  explicit VerifyKey(ed25519::PublicKey key) : key_(std::move(key)) {}
  ed25519::PublicKey key_;
};

}  // namespace tollgate::rules
