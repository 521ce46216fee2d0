#include "poppler_document.h"

#include <poppler/Error.h>
#include <poppler/ErrorCodes.h>
#include <poppler/GlobalParams.h>
#include <poppler/PDFDoc.h>
#include <poppler/Stream.h>

#include <mutex>

namespace tollgate::pdf {
namespace {

thread_local size_t* t_error_count = nullptr;

void CountPopplerError(ErrorCategory, Goffset, const char*) {
  if (t_error_count != nullptr) ++*t_error_count;
}

// Poppler's core needs its process-wide parameters before any document is opened. Its error
// messages go to the counters instead of stderr, which hostile files would flood.
void InitPopplerOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (!globalParams) globalParams = std::make_unique<GlobalParams>();
    setErrorCallback(&CountPopplerError);
  });
}

}  // namespace

PopplerErrorCounter::PopplerErrorCounter() : outer_(t_error_count) { t_error_count = &count_; }
PopplerErrorCounter::~PopplerErrorCounter() { t_error_count = outer_; }

std::unique_ptr<PopplerDocument> PopplerDocument::Open(std::span<const uint8_t> bytes,
                                                       const std::optional<std::string>& password) {
  InitPopplerOnce();
  std::unique_ptr<PopplerDocument> document(new PopplerDocument());
  // The PDFDoc owns the MemStream; the MemStream only views the caller's bytes.
  auto* stream = new MemStream(reinterpret_cast<const char*>(bytes.data()), 0, static_cast<Goffset>(bytes.size()),
                               Object(objNull));
  std::optional<GooString> poppler_password;
  if (password) poppler_password.emplace(*password);
  PopplerDocument* raw = document.get();
  document->doc_ = std::make_unique<PDFDoc>(stream, poppler_password, poppler_password, nullptr,
                                            [raw] { raw->xref_reconstructed_ = true; });
  return document;
}

PopplerDocument::~PopplerDocument() = default;

bool PopplerDocument::ok() const { return doc_->isOk(); }
int PopplerDocument::error_code() const { return doc_->getErrorCode(); }
bool PopplerDocument::needs_password() const { return !doc_->isOk() && doc_->getErrorCode() == errEncrypted; }

}  // namespace tollgate::pdf
