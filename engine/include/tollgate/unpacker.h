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

// The true type of a layer, from libmagic (never from the claimed name).
struct FileType {
  std::string mime;         // "application/zip"
  std::string description;  // "Zip archive data, at least v2.0 to extract"
};

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
  virtual Status Add(std::string_view name, std::vector<uint8_t> bytes) = 0;
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
  virtual bool Accepts(const FileType& type) const = 0;
  virtual Status Unpack(const ScanObject& parent, ChildSink& sink) const = 0;
};

}  // namespace tollgate
