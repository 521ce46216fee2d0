// Unpacker: turns a container layer into child layers. Never decides a verdict.
//
// A new format is one folder in unpackers/ plus one line in unpackers/unpacker_list; the pipeline is
// not edited. Unpackers are immutable after construction and shared by all threads: Unpack() may run
// concurrently on many objects. Every child goes through ChildSink, which enforces the scan limits;
// an unpacker asks it before inflating (Admit) and stops when it says no. Errors from hostile input
// are reported as findings (Report) and a non-OK Status only for failures of Tollgate itself.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tollgate/object_path.h"
#include "tollgate/status.h"
#include "tollgate/verdict.h"

namespace tollgate {

// The true type of a layer, from libmagic or from the unpacker that made it (never from the
// claimed name). Only the root of an upload gets a description; other layers need the MIME type alone.
struct FileType {
  std::string mime;         // "application/zip"
  std::string description;  // "Zip archive data, at least v2.0 to extract"
};

// What a layer is to the scan, which decides the stages it goes through (the pipeline applies it in
// one place; README "Layers" has the table). Every engine call has a fixed cost whatever the layer's
// size, so only files pay for every stage one by one.
//  - kFile: a file of its own (the upload, an archive member, an attachment, an embedded object, a
//    macro's source). Typed (libmagic unless its unpacker knows the type), unpacked, and scanned by
//    every detector.
//  - kContentStream: where a format keeps its content (a PDF's page content, fonts and object
//    streams, an OLE2 document's streams). Patterns hide there, but nobody opens one as a file: it is
//    neither typed nor unpacked, and goes, with the other content of its container in one batch, to
//    the detectors that look at content (Detector::ScanContent: Hyperscan, ClamAV body signatures).
//  - kPackagePart: a content stream that is also a member of a document package (an OOXML XML part):
//    people unzip these and write YARA rules for them, so YARA scans them too, a batch in one call.
// A content stream or part that starts like a file (an executable, an archive, a document) is a file.
enum class LayerKind { kFile, kContentStream, kPackagePart };

// Whether the words in a layer can act. A keyword rule (a PowerShell download command, an auto-exec
// macro's name) means something where words run: a script, a macro's source, a formula, a field
// code, a program, data nobody can read. In prose people only read about them: a security team's
// incident report names every one of them. The shipped keyword rules skip prose (README "Layers").
//  - kByType: decided from the layer's type and name: plain text is prose unless its name is a
//    script's (tollgate/file_names.h); a container Tollgate unpacks is prose too, since its words are
//    scanned where they act, in its children (Unpacker::WordsAreInChildren). Anything else is not.
//  - kProse / kCode: the unpacker knows (a PDF's page text, a document's XML; a macro's source).
enum class Words { kByType, kProse, kCode };

// One layer of an upload. `bytes` is a view: whoever created the object keeps the memory alive for
// as long as the object is being scanned.
struct ScanObject {
  ObjectPath path;
  FileType type;
  std::span<const uint8_t> bytes;
  uint32_t depth = 0;        // 0 for the root
  // Name of Tollgate's own unpacker that unpacks this layer, empty if none. A detector that also
  // unpacks (libclamav) leaves such a format to Tollgate so every byte is decompressed once.
  std::string_view unpacked_by;
  LayerKind kind = LayerKind::kFile;
  bool prose = false;  // its words are read, not run (see Words): keyword rules skip it
};

// What an unpacker knows about a child beyond its name and bytes.
struct ChildTraits {
  LayerKind kind = LayerKind::kFile;
  // The child's type when the unpacker knows it (a VBA module's source, an XML part): libmagic is
  // not asked. Empty mime: unknown.
  FileType type;
  Words words = Words::kByType;
};

class ChildSink {
 public:
  virtual ~ChildSink() = default;
  // Asks, before inflating, to extract a child the container declares as `declared_size` bytes
  // stored in `stored_size` bytes. Returns the most bytes the unpacker may produce for it (it must
  // stop there even if the declaration lied), or a ResourceExhausted Status when a limit forbids it
  // (already recorded as a finding: the unpacker skips the child, or stops on max_files/total).
  virtual StatusOr<uint64_t> Admit(std::string_view name, uint64_t declared_size, uint64_t stored_size) = 0;
  // Hands over an admitted child's bytes. Non-OK when a limit was hit while inflating.
  virtual Status Add(std::string_view name, std::vector<uint8_t> bytes, const ChildTraits& traits) = 0;
  // A child that is a file of its own, of a type libmagic tells.
  Status Add(std::string_view name, std::vector<uint8_t> bytes) { return Add(name, std::move(bytes), ChildTraits{}); }
  // Records a structural finding (engine "tollgate" and `object` = the parent's path unless set).
  virtual void Report(Finding finding) = 0;
  // Passwords the user offered for encrypted content (--password), to try in order. An unpacker
  // records each attempt as an info finding "Tollgate.Decrypt.Attempt" (never the password itself)
  // and, when none works, an `incomplete` finding with reason "encrypted".
  virtual const std::vector<std::string>& Passwords() const = 0;
  // True once the scan's deadline has passed or an upload-wide limit (depth, files, total bytes)
  // was hit: the unpacker stops. A refused child alone does not stop it: it skips that child.
  virtual bool ShouldStop() const = 0;
};

class Unpacker {
 public:
  virtual ~Unpacker() = default;
  virtual std::string_view Name() const = 0;  // "zip"
  // Whether this unpacker reads `object` (a file-like layer, typed): by its type, or by its bytes
  // where a format is known by content.
  virtual bool Accepts(const ScanObject& object) const = 0;
  virtual Status Unpack(const ScanObject& parent, ChildSink& sink) const = 0;
  // Whether the words of a layer this unpacker takes are all in the children it makes, where each
  // is judged (Words): so for archives and documents, whose own bytes only repeat them.
  virtual bool WordsAreInChildren() const { return true; }
};

}  // namespace tollgate
