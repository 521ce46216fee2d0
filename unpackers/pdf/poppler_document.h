// Poppler's core API, set up for untrusted bytes: documents parsed from memory (never the
// filesystem), and Poppler's error messages counted instead of printed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

class PDFDoc;

namespace tollgate::pdf {

// Counts the errors Poppler reports on this thread while the counter lives. Poppler reports errors
// through one process-wide callback, so the count is kept per thread (one document per thread).
class PopplerErrorCounter {
 public:
  PopplerErrorCounter();
  ~PopplerErrorCounter();
  PopplerErrorCounter(const PopplerErrorCounter&) = delete;
  PopplerErrorCounter& operator=(const PopplerErrorCounter&) = delete;

  size_t count() const { return count_; }

 private:
  size_t count_ = 0;
  size_t* outer_;
};

// A parsed document over bytes the caller keeps alive. Not movable: Poppler keeps a callback into it.
class PopplerDocument {
 public:
  // Parses `bytes`; `password` is tried as both owner and user password. Check ok() / error_code().
  static std::unique_ptr<PopplerDocument> Open(std::span<const uint8_t> bytes,
                                               const std::optional<std::string>& password);
  ~PopplerDocument();
  PopplerDocument(const PopplerDocument&) = delete;
  PopplerDocument& operator=(const PopplerDocument&) = delete;

  bool ok() const;
  int error_code() const;  // Poppler's errEncrypted, errDamaged, ... when !ok()
  bool needs_password() const;
  // Poppler rebuilt the cross-reference table by scanning the file: it was missing or wrong. This may
  // also happen later, while objects are fetched.
  bool xref_reconstructed() const { return xref_reconstructed_; }
  PDFDoc& doc() { return *doc_; }

 private:
  PopplerDocument() = default;

  bool xref_reconstructed_ = false;
  std::unique_ptr<PDFDoc> doc_;  // after the flag: destroyed first, as it may still call back
};

}  // namespace tollgate::pdf
