// Ed25519 keys and detached signatures (OpenSSL EVP). Keys are PEM files: the private key PKCS#8,
// the public key SubjectPublicKeyInfo, as `openssl genpkey -algorithm ed25519` writes them.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "outcome.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace tollgate::rules {

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const;
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// Writes a new key pair; refuses to overwrite either file. The private key file is mode 0600.
Outcome GenerateKeyPair(const std::filesystem::path& private_file, const std::filesystem::path& public_file);

class SigningKey {
 public:
  static OutcomeOr<SigningKey> Load(const std::filesystem::path& private_file);
  // The signature as one line of base64 (what manifest.sig holds).
  OutcomeOr<std::string> Sign(std::string_view message) const;
  std::string KeyId() const;  // of the matching public key

 private:
  explicit SigningKey(PkeyPtr key) : key_(std::move(key)) {}
  PkeyPtr key_;
};

class VerifyKey {
 public:
  static OutcomeOr<VerifyKey> Load(const std::filesystem::path& public_file);
  // `signature` is manifest.sig's text (base64, surrounding white space ignored).
  bool Verify(std::string_view message, std::string_view signature) const;
  std::string KeyId() const;

 private:
  explicit VerifyKey(PkeyPtr key) : key_(std::move(key)) {}
  PkeyPtr key_;
};

}  // namespace tollgate::rules
