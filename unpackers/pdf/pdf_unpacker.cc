// PDF documents through Poppler's core API, parsed from memory: every object of the
// cross-reference table is read, content is decoded into child layers (object_walker.h) and what a
// viewer would act on is reported as heuristics (heuristics.h).
#include <fmt/format.h>
#include <poppler/PDFDoc.h>
#include <poppler/XRef.h>

#include <memory>
#include <new>
#include <optional>
#include <string>

#include "escaped_names.h"
#include "heuristics.h"
#include "object_walker.h"
#include "poppler_document.h"
#include "tollgate/unpacker.h"

namespace tollgate {
namespace {

Finding InfoFinding(const ObjectPath& pdf, std::string rule, std::string detail) {
  Finding finding;
  finding.engine = "tollgate";
  finding.rule = std::move(rule);
  finding.severity = Severity::kInfo;
  finding.kind = FindingKind::kHeuristic;
  finding.object = pdf.ToString();
  finding.detail = std::move(detail);
  return finding;
}

std::string_view AlgorithmName(CryptAlgorithm algorithm) {
  switch (algorithm) {
    case cryptRC4: return "RC4";
    case cryptAES: return "AES-128";
    case cryptAES256: return "AES-256";
    case cryptNone: break;
  }
  return "an identity crypt filter";
}

// Opens the document, trying the user's passwords in order (each attempt recorded) when it has
// a user password. Returns the document to walk, or the first failure.
std::unique_ptr<pdf::PopplerDocument> OpenWithPasswords(const ScanObject& parent, ChildSink& sink,
                                                        size_t& accepted_password) {
  auto document = pdf::PopplerDocument::Open(parent.bytes, std::nullopt);
  if (!document->needs_password()) return document;
  const std::vector<std::string>& passwords = sink.Passwords();
  for (size_t i = 0; i < passwords.size(); ++i) {
    auto attempt = pdf::PopplerDocument::Open(parent.bytes, passwords[i]);
    const bool accepted = !attempt->needs_password();
    sink.Report(DecryptAttemptFinding(parent.path, i + 1, passwords.size(), accepted));
    if (accepted) {
      accepted_password = i + 1;
      return attempt;
    }
  }
  return document;
}

Status UnpackDocument(const ScanObject& parent, ChildSink& sink) {
  pdf::PopplerErrorCounter poppler_errors;
  pdf::HeuristicTally tally;
  // Encryption leaves names alone and Poppler hands them out decoded: escapes show only in the raw bytes.
  pdf::FindEscapedSensitiveNames(parent.bytes, [&](size_t offset, std::string_view token, std::string_view) {
    tally.Note(pdf::Heuristic::kNameObfuscation, fmt::format("offset {} ({})", offset, token));
  });

  size_t accepted_password = 0;
  const std::unique_ptr<pdf::PopplerDocument> document = OpenWithPasswords(parent, sink, accepted_password);
  if (!document->ok()) {
    if (document->needs_password()) {
      sink.Report(IncompleteFinding("tollgate", "encrypted", parent.path,
                                    sink.Passwords().empty()
                                        ? "pdf: needs a password to open and none was given"
                                        : "pdf: needs a password to open and no given password opens it"));
    } else {
      sink.Report(
          IncompleteFinding("tollgate", "parse_error", parent.path,
                            fmt::format("pdf: Poppler cannot read the document (error code {}; {} errors reported)",
                                        document->error_code(), poppler_errors.count())));
    }
    tally.Report(parent.path, sink);
    return Status::Ok();
  }

  XRef& xref = *document->doc().getXRef();
  if (xref.isEncrypted()) {
    unsigned char* key = nullptr;
    CryptAlgorithm algorithm = cryptNone;
    int key_length = 0;
    xref.getEncryptionParameters(&key, &algorithm, &key_length);
    sink.Report(
        InfoFinding(parent.path, "Tollgate.PDF.Encrypted",
                    fmt::format("encrypted with {}, {}-bit key; {}", AlgorithmName(algorithm), key_length * 8,
                                accepted_password == 0 ? std::string("opens without a password")
                                                       : fmt::format("opened with password {}", accepted_password))));
  }

  const pdf::WalkOutcome outcome = pdf::WalkDocument(xref, parent.bytes, sink, tally);
  // Checked after the walk: Poppler may also rebuild the table when a fetched entry is wrong.
  if (document->xref_reconstructed()) {
    sink.Report(InfoFinding(parent.path, "Tollgate.PDF.XrefReconstructed",
                            fmt::format("cross-reference table missing or wrong, rebuilt by scanning the file; "
                                        "Poppler reported {} errors",
                                        poppler_errors.count())));
  }
  tally.Report(parent.path, sink);
  if (outcome.too_many_objects) {
    sink.Report(
        IncompleteFinding("tollgate", "limit", parent.path,
                          fmt::format("pdf: more than {} objects; the rest was not read", pdf::kMaxPdfObjects)));
  }
  return Status::Ok();
}

class PdfUnpacker final : public Unpacker {
 public:
  std::string_view Name() const override { return "pdf"; }
  bool Accepts(const ScanObject& object) const override { return object.type.mime == "application/pdf"; }

  Status Unpack(const ScanObject& parent, ChildSink& sink) const override {
    try {
      return UnpackDocument(parent, sink);
    } catch (const std::bad_alloc&) {
      return Internal("pdf unpacker: out of memory");
    } catch (const std::exception& e) {
      return Internal(std::string("pdf unpacker: ") + e.what());
    }
  }
};

}  // namespace

std::unique_ptr<Unpacker> MakeUnpacker_pdf() { return std::make_unique<PdfUnpacker>(); }

}  // namespace tollgate
