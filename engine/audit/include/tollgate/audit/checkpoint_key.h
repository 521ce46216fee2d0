// Ed25519 keys for checkpoint signatures (OpenSSL EVP).
//
// The writer loads the private key once at startup (PEM, as made by `openssl genpkey -algorithm
// ed25519`) and keeps it only in memory: it never writes it anywhere, and it refuses a key file that
// group or others may read. The verifier needs only the public key (`openssl pkey -in KEY -pubout`).
// A key's fingerprint is the SHA-256 of its raw 32-byte public key; checkpoints name it.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "tollgate/ed25519.h"
#include "tollgate/status.h"

namespace tollgate::audit {

class SigningKey {
 public:
  SigningKey() = default;
  explicit SigningKey(ed25519::PrivateKey key) : key_(std::move(key)) {}
  // Fails when the file cannot be read, is readable by group or others, or is not an Ed25519 key.
  static StatusOr<SigningKey> Load(const std::string& pem_file);

  // The 64-byte signature, lower-case hex.
  StatusOr<std::string> Sign(std::string_view message) const;
  const std::string& fingerprint() const { return key_.fingerprint(); }

 private:
  ed25519::PrivateKey key_;
};

class VerifyingKey {
 public:
  VerifyingKey() = default;
  explicit VerifyingKey(ed25519::PublicKey key) : key_(std::move(key)) {}
  static StatusOr<VerifyingKey> Load(const std::string& pem_file);
  static StatusOr<VerifyingKey> FromPem(std::string_view pem);

  bool Verify(std::string_view message, std::string_view signature_hex) const;
  const std::string& fingerprint() const { return key_.fingerprint(); }

 private:
  ed25519::PublicKey key_;
};

}  // namespace tollgate::audit
