// True-type identification with libmagic. One magic_t per thread (libmagic handles are not
// thread-safe); the magic database is loaded once per thread on first use.
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

  // Never fails: unknown content is "application/octet-stream".
  FileType Identify(std::span<const uint8_t> bytes) const;

 private:
  struct Impl;
  explicit FileTyper(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate
