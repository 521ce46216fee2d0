// True-type identification with libmagic. One magic_t per thread (libmagic handles are not
// thread-safe); the magic database is loaded once per thread on first use. A libmagic call costs a
// few milliseconds whatever the layer's size (it tries its whole database), so a layer gets one call:
// its MIME type. Only an upload's root also gets libmagic's description, for the report.
#pragma once

#include <cstdint>
#include <span>

#include "tollgate/status.h"
#include "tollgate/unpacker.h"

namespace tollgate {

class FileTyper {
 public:
  // Fails when the libmagic database cannot be loaded.
  static StatusOr<std::unique_ptr<FileTyper>> Create();
  ~FileTyper();

  // The MIME type (description empty, except for OOXML packages recognised by content). Never
  // fails: unknown content is "application/octet-stream".
  FileType Identify(std::span<const uint8_t> bytes) const;
  // As Identify, with libmagic's description too: a second libmagic call.
  FileType IdentifyWithDescription(std::span<const uint8_t> bytes) const;

 private:
  struct Impl;
  explicit FileTyper(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Whether `bytes` start with the signature of a file format some stage acts on: an executable, an
// archive or compressed file, a document format with layers of its own, a shortcut, a web page. A
// content stream that does (a PE stored as a PDF stream) is scanned as a file.
bool StartsLikeAFile(std::span<const uint8_t> bytes);

}  // namespace tollgate
