#include "file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "tollgate/sha256.h"

namespace tollgate::rules {
namespace fs = std::filesystem;
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // close() reports write-back errors that fsync() may not have seen on some file systems.
  bool Close() {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

Status Errno(const std::string& what, const fs::path& path) {
  return Status(StatusCode::kInternal, what + " " + path.string() + ": " + std::strerror(errno));
}

// Reads `fd` to the end in chunks, handing each to `consume`.
template <typename Consume>
Status ReadAll(int fd, const fs::path& path, Consume consume) {
  std::vector<uint8_t> buffer(1 << 16);
  while (true) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n == 0) return Status::Ok();
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot read", path);
    }
    TOLLGATE_RETURN_IF_ERROR(consume(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n))));
  }
}

Status SyncPath(const fs::path& path, int flags) {
  Fd fd(::open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return Errno("cannot open", path);
  if (::fsync(fd.get()) != 0) return Errno("cannot sync", path);
  return Status::Ok();
}

}  // namespace

StatusOr<std::string> Sha256OfFile(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return Errno("cannot open", path);
  Sha256 hash;
  TOLLGATE_RETURN_IF_ERROR(ReadAll(fd.get(), path, [&](std::span<const uint8_t> chunk) {
    hash.Update(chunk);
    return Status::Ok();
  }));
  return hash.HexDigest();
}

StatusOr<std::string> ReadSmallFile(const fs::path& path, uint64_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return Errno("cannot open", path);
  std::string content;
  TOLLGATE_RETURN_IF_ERROR(ReadAll(fd.get(), path, [&](std::span<const uint8_t> chunk) {
    if (content.size() + chunk.size() > max_bytes) {
      return Status(StatusCode::kResourceExhausted, path.string() + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
    content.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    return Status::Ok();
  }));
  return content;
}

Status WriteFileAtomically(const fs::path& path, std::string_view content) {
  const fs::path temporary = path.string() + ".tmp-" + std::to_string(::getpid());
  Fd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (fd.get() < 0) return Errno("cannot create", temporary);
  for (size_t done = 0; done < content.size();) {
    const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status error = Errno("cannot write", temporary);
      ::unlink(temporary.c_str());
      return error;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || !fd.Close() || ::rename(temporary.c_str(), path.c_str()) != 0) {
    Status error = Errno("cannot write", path);
    ::unlink(temporary.c_str());
    return error;
  }
  return SyncDirectory(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

Status SyncDirectory(const fs::path& dir) { return SyncPath(dir, O_RDONLY | O_DIRECTORY); }

Status SyncTree(const fs::path& root) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::file_status status = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(status)) {
      TOLLGATE_RETURN_IF_ERROR(SyncDirectory(it->path()));
    } else if (fs::is_regular_file(status)) {
      TOLLGATE_RETURN_IF_ERROR(SyncPath(it->path(), O_RDONLY));
    }
  }
  if (ec) return Status(StatusCode::kInternal, "cannot list " + root.string() + ": " + ec.message());
  return SyncDirectory(root);
}

}  // namespace tollgate::rules
