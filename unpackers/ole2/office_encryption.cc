#include "office_encryption.h"

#include "little_endian.h"

namespace tollgate::ole2 {
namespace {

constexpr uint16_t kWordIdent = 0xA5EC;
constexpr uint16_t kWordEncryptedFlag = 0x0100;  // FibBase.fEncrypted
constexpr uint16_t kExcelFilePass = 0x002F;
constexpr uint16_t kExcelEndOfSubstream = 0x000A;
// FILEPASS directly follows the workbook globals' BOF record; a few records of slack cover writers
// that put something in between.
constexpr int kExcelRecordsBeforeFilePass = 16;

bool WordFibSaysEncrypted(std::span<const uint8_t> word_document) {
  return word_document.size() >= 12 && Le16(word_document, 0) == kWordIdent &&
         (Le16(word_document, 10) & kWordEncryptedFlag) != 0;
}

bool ExcelHasFilePass(std::span<const uint8_t> workbook) {
  size_t at = 0;
  for (int record = 0; record < kExcelRecordsBeforeFilePass && at + 4 <= workbook.size(); ++record) {
    const uint16_t type = Le16(workbook, at);
    if (type == kExcelFilePass) return true;
    if (type == kExcelEndOfSubstream) return false;
    at += 4 + size_t{Le16(workbook, at + 2)};
  }
  return false;
}

}  // namespace

void EncryptionEvidence::ObserveRootStream(std::string_view name, std::span<const uint8_t> bytes) {
  if (name == "EncryptedSummary") encrypted_summary_ = true;
  if (name == "WordDocument") word_encrypted_ = WordFibSaysEncrypted(bytes);
  if (name == "Workbook" || name == "Book") excel_encrypted_ = ExcelHasFilePass(bytes);
}

std::optional<std::string> EncryptionEvidence::Scheme() const {
  if (word_encrypted_) return "Word document encryption (fEncrypted in the FIB)";
  if (excel_encrypted_) return "Excel workbook encryption (a FILEPASS record)";
  if (encrypted_summary_) return "PowerPoint document encryption (an EncryptedSummary stream)";
  return std::nullopt;
}

}  // namespace tollgate::ole2
