// Decryption of password-protected OOXML packages ([MS-OFFCRYPTO] 2.3.4): Office encrypts the whole
// package and stores it in a compound file as the EncryptedPackage stream, next to EncryptionInfo,
// which says how a password becomes the key.
//
// Agile encryption (Office 2010 and later; the key derived with a hash spun `spinCount` times, the
// package in 4096-byte AES-CBC segments) and standard encryption (Office 2007; SHA-1 and AES-ECB)
// with AES keys are supported. Extensible encryption, RC2/DES ciphers and certificate-only key
// encryptors are not. Everything read from the file is bounds-checked; the work a password costs is
// bounded by the specification's maximum spin count and by the caller's stop callback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tollgate/status.h"

namespace tollgate::ole2 {

class PackageDecryptor {
 public:
  // Reads an EncryptionInfo stream. DataLoss when it is malformed, FailedPrecondition when it names
  // a scheme or algorithm this decryptor does not support (the message names which).
  static StatusOr<std::unique_ptr<PackageDecryptor>> Create(std::span<const uint8_t> encryption_info);
  virtual ~PackageDecryptor() = default;

  // The package key for `password` (UTF-8), or an empty vector when the password does not pass
  // the file's verifier. `should_stop` is polled while the key is derived; once it returns true
  // the derivation gives up with DeadlineExceeded.
  virtual StatusOr<std::vector<uint8_t>> KeyFor(std::string_view password,
                                                const std::function<bool()>& should_stop) const = 0;

  // Decrypts the EncryptedPackage stream (its 8-byte size field included) with a key from KeyFor,
  // producing at most `limit` bytes of the package (one more when the stream holds more, so the
  // caller's limit check sees it). DataLoss when the stream is shorter than it declares.
  virtual Status Decrypt(std::span<const uint8_t> key, std::span<const uint8_t> encrypted_package, uint64_t limit,
                         std::vector<uint8_t>& out) const = 0;
};

// The package size EncryptedPackage declares in its first 8 bytes; 0 when it is shorter than that.
uint64_t DeclaredPackageSize(std::span<const uint8_t> encrypted_package);

}  // namespace tollgate::ole2
