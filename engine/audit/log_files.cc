#include "log_files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

namespace tollgate::audit {
namespace {

constexpr std::string_view kPrefix = "audit-";
constexpr std::string_view kSuffix = ".jsonl";
constexpr size_t kBlock = 1 << 20;

bool AllDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

StatusOr<UniqueFd> OpenForReading(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return NotFound(fmt::format("{}: cannot be opened: {}", path, std::strerror(errno)));
  return fd;
}

Status ReadAt(int fd, char* out, size_t count, uint64_t offset, const std::string& path) {
  while (count > 0) {
    const ssize_t n = ::pread(fd, out, count, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return DataLoss(fmt::format("{}: read failed: {}", path, n < 0 ? std::strerror(errno) : "file shrank"));
    out += n;
    count -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

}  // namespace

std::string MakeLogFileName(std::string_view date, uint64_t first_seq) {
  return fmt::format("{}{}-{:012}{}", kPrefix, date, first_seq, kSuffix);
}

std::optional<LogFileName> ParseLogFileName(std::string_view name) {
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return std::nullopt;
  const std::string_view middle = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  // YYYY-MM-DD-SEQ
  if (middle.size() < 10 + 1 + 12 || middle[4] != '-' || middle[7] != '-' || middle[10] != '-' ||
      !AllDigits(middle.substr(0, 4)) || !AllDigits(middle.substr(5, 2)) || !AllDigits(middle.substr(8, 2))) {
    return std::nullopt;
  }
  const std::string_view seq_text = middle.substr(11);
  uint64_t seq = 0;
  if (!AllDigits(seq_text) ||
      std::from_chars(seq_text.data(), seq_text.data() + seq_text.size(), seq).ec != std::errc()) {
    return std::nullopt;
  }
  return LogFileName{std::string(name), std::string(middle.substr(0, 10)), seq};
}

StatusOr<LogFolder> ListLogFiles(const std::string& dir) {
  LogFolder folder;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) continue;
    if (auto parsed = ParseLogFileName(name)) {
      folder.files.push_back(std::move(*parsed));
    } else {
      folder.unexpected.push_back(name);
    }
  }
  if (ec) return NotFound(fmt::format("{}: cannot list the audit log folder: {}", dir, ec.message()));
  std::sort(folder.files.begin(), folder.files.end(), [](const LogFileName& a, const LogFileName& b) {
    return a.first_seq != b.first_seq ? a.first_seq < b.first_seq : a.name < b.name;
  });
  std::sort(folder.unexpected.begin(), folder.unexpected.end());
  return folder;
}

StatusOr<LineReader> LineReader::Open(const std::string& path) {
  auto fd = OpenForReading(path);
  if (!fd.ok()) return fd.status();
  return LineReader(std::move(*fd));
}

std::optional<std::string_view> LineReader::Next() {
  while (true) {
    const size_t newline = buffer_.find('\n', begin_);
    if (newline != std::string::npos) {
      const std::string_view line(buffer_.data() + begin_, newline - begin_);
      offset_ += newline + 1 - begin_;
      begin_ = newline + 1;
      return line;
    }
    if (eof_) {
      trailing_.assign(buffer_, begin_);
      begin_ = buffer_.size();
      return std::nullopt;
    }
    buffer_.erase(0, begin_);
    begin_ = 0;
    const size_t kept = buffer_.size();
    buffer_.resize(kept + kBlock);
    ssize_t n;
    do {
      n = ::read(fd_.get(), buffer_.data() + kept, kBlock);
    } while (n < 0 && errno == EINTR);
    buffer_.resize(kept + static_cast<size_t>(std::max<ssize_t>(n, 0)));
    if (n < 0) {
      status_ = DataLoss(fmt::format("read failed: {}", std::strerror(errno)));
      return std::nullopt;
    }
    if (n == 0) eof_ = true;
  }
}

StatusOr<FileEnd> ReadFileEnd(const std::string& path) {
  auto fd = OpenForReading(path);
  if (!fd.ok()) return fd.status();
  struct stat info {};
  if (::fstat(fd->get(), &info) != 0) return Internal(fmt::format("{}: {}", path, std::strerror(errno)));
  FileEnd end;
  end.size = static_cast<uint64_t>(info.st_size);
  // buffer holds the file's bytes [start, size); it grows backwards until it holds the last line.
  std::string buffer;
  uint64_t start = end.size;
  auto extend = [&]() -> Status {
    const uint64_t chunk = std::min<uint64_t>(64 << 10, start);
    start -= chunk;
    std::string block(chunk, '\0');
    TOLLGATE_RETURN_IF_ERROR(ReadAt(fd->get(), block.data(), chunk, start, path));
    buffer.insert(0, block);
    return Status::Ok();
  };
  size_t last_newline;
  while ((last_newline = buffer.rfind('\n')) == std::string::npos && start > 0) TOLLGATE_RETURN_IF_ERROR(extend());
  if (last_newline == std::string::npos) return end;
  end.complete_bytes = start + last_newline + 1;
  // The line ends at complete_bytes - 1; find where it begins.
  auto line_begin = [&] { return last_newline == 0 ? std::string::npos : buffer.rfind('\n', last_newline - 1); };
  size_t previous_newline;
  while ((previous_newline = line_begin()) == std::string::npos && start > 0) {
    const uint64_t before = buffer.size();
    TOLLGATE_RETURN_IF_ERROR(extend());
    last_newline += buffer.size() - before;
  }
  const size_t first = previous_newline == std::string::npos ? 0 : previous_newline + 1;
  end.last_line = buffer.substr(first, last_newline - first);
  return end;
}

StatusOr<std::string> ReadFirstLine(const std::string& path, size_t limit) {
  auto fd = OpenForReading(path);
  if (!fd.ok()) return fd.status();
  std::string buffer(limit, '\0');
  size_t filled = 0;
  while (filled < limit) {
    const ssize_t n = ::read(fd->get(), buffer.data() + filled, limit - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return DataLoss(fmt::format("{}: read failed: {}", path, std::strerror(errno)));
    if (n == 0) break;
    filled += static_cast<size_t>(n);
    if (buffer.find('\n', filled - static_cast<size_t>(n)) != std::string::npos) break;
  }
  const size_t newline = buffer.find('\n');
  if (newline == std::string::npos || newline >= filled) {
    return DataLoss(fmt::format("{}: no complete first line", path));
  }
  buffer.resize(newline);
  return buffer;
}

}  // namespace tollgate::audit
