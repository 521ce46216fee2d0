// The files of an audit log folder: their names, their order, and reading them line by line.
//
// A log file is named audit-YYYY-MM-DD-NNNNNNNNNNNN.jsonl: the UTC date of its records and the seq of
// its first record (12 digits or more). The chain order of the files is the order of those seqs.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tollgate/status.h"
#include "tollgate/unique_fd.h"

namespace tollgate::audit {

struct LogFileName {
  std::string name;
  std::string date;  // YYYY-MM-DD
  uint64_t first_seq = 0;
};

std::string MakeLogFileName(std::string_view date, uint64_t first_seq);
std::optional<LogFileName> ParseLogFileName(std::string_view name);

struct LogFolder {
  std::vector<LogFileName> files;       // in chain order
  std::vector<std::string> unexpected;  // audit-*.jsonl names that do not parse
};
StatusOr<LogFolder> ListLogFiles(const std::string& dir);

// Reads a file's complete lines in order, in large blocks.
class LineReader {
 public:
  static StatusOr<LineReader> Open(const std::string& path);

  // The next complete line without its newline; nullopt at the end of the file or on a read error
  // (see status()). The view is valid until the next call.
  std::optional<std::string_view> Next();
  const Status& status() const { return status_; }
  // Bytes up to and including the last complete line returned.
  uint64_t offset() const { return offset_; }
  // At the end: the bytes after the last newline (a torn or truncated record), if any.
  std::string_view trailing() const { return trailing_; }

 private:
  explicit LineReader(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  std::string buffer_;
  size_t begin_ = 0;  // start of the unread part of buffer_
  bool eof_ = false;
  uint64_t offset_ = 0;
  std::string trailing_;
  Status status_;
};

struct FileEnd {
  uint64_t size = 0;
  uint64_t complete_bytes = 0;  // up to and including the last newline
  std::string last_line;        // the last complete line; empty when there is none
};
// Reads only the end of a file, whatever its size.
StatusOr<FileEnd> ReadFileEnd(const std::string& path);
// The first complete line of a file (at most `limit` bytes are read).
StatusOr<std::string> ReadFirstLine(const std::string& path, size_t limit = 1 << 20);

}  // namespace tollgate::audit
