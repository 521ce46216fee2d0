// The encryption of Word, Excel and PowerPoint 97-2003 documents ([MS-OFFCRYPTO] 2.3.6, 2.3.7: RC4
// and XOR obfuscation), recognised from the streams at the compound file's root. Nothing here
// decrypts. (Encrypted OOXML packages are a compound file of their own: office_decryption.h.)
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tollgate::ole2 {

class EncryptionEvidence {
 public:
  // `bytes` is the stream's content, or empty when it was not read.
  void ObserveRootStream(std::string_view name, std::span<const uint8_t> bytes);
  // The encryption scheme the streams show, as a short description; nullopt for none.
  std::optional<std::string> Scheme() const;

 private:
  bool encrypted_summary_ = false;
  bool word_encrypted_ = false;
  bool excel_encrypted_ = false;
};

}  // namespace tollgate::ole2
