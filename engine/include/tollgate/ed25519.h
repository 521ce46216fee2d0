// Ed25519 keys and detached signatures (OpenSSL EVP), the one implementation behind signed rule
// bundles (rules/updater) and audit checkpoints (engine/audit). Keys are PEM files as `openssl genpkey
// -algorithm ed25519` writes them (private: PKCS#8; public: SubjectPublicKeyInfo, `openssl pkey -in
// KEY -pubout`). A private key file that group or others may read is refused, and its PEM text is
// wiped from memory once parsed. Each user writes signatures its own way (base64 in manifest.sig,
// hex in checkpoints); here they are the 64 raw bytes.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "tollgate/status.h"

using EVP_PKEY = struct evp_pkey_st;

namespace tollgate::ed25519 {

inline constexpr size_t kSignatureBytes = 64;
using Signature = std::array<uint8_t, kSignatureBytes>;

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const;
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

class PrivateKey {
 public:
  // NotFound when the file cannot be read, FailedPrecondition when group or others may read it,
  // InvalidArgument when it is not an Ed25519 private key in PEM. `what` names the key in the
  // messages ("the audit signing key").
  static StatusOr<PrivateKey> Load(const std::string& pem_file, std::string_view what);
  StatusOr<Signature> Sign(std::string_view message) const;
  // SHA-256 of the raw 32-byte public key, lower-case hex.
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  PkeyPtr key_;
  std::string fingerprint_;
};

class PublicKey {
 public:
  static StatusOr<PublicKey> Load(const std::string& pem_file);
  static StatusOr<PublicKey> FromPem(std::string_view pem);
  bool Verify(std::string_view message, std::span<const uint8_t> signature) const;
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  PkeyPtr key_;
  std::string fingerprint_;
};

// Writes a new key pair, the private file mode 0600; never replaces an existing file.
Status GenerateKeyPair(const std::string& private_file, const std::string& public_file);

}  // namespace tollgate::ed25519
