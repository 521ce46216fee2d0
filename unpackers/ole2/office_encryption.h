// Office's own encryption inside a compound file ([MS-OFFCRYPTO]), recognised from the streams at
// its root. Nothing here decrypts.
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
  bool encryption_info_ = false;
  bool encrypted_package_ = false;
  bool encrypted_summary_ = false;
  bool word_encrypted_ = false;
  bool excel_encrypted_ = false;
};

}  // namespace tollgate::ole2
