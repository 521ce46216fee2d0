#include "source.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "bundle.h"
#include "tollgate/unique_file.h"

namespace tollgate::rules {
namespace fs = std::filesystem;
namespace {

constexpr zip_int64_t kMaxArchiveEntries = 1'000'000;

Outcome Unavailable(std::string message) { return Outcome(Reason::kSourceUnavailable, std::move(message)); }

struct ZipCloser {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
struct CurlCleanup {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
// An archive member's name, checked to stay below the folder it is unpacked into.
bool IsSafeMemberName(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find('\\') != std::string_view::npos) return false;
  if (name.back() == '/') name.remove_suffix(1);
  size_t start = 0;
  while (start <= name.size()) {
    const size_t slash = std::min(name.find('/', start), name.size());
    const std::string_view part = name.substr(start, slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = slash + 1;
  }
  return true;
}

Outcome WriteNewFile(const fs::path& path, const std::function<Outcome(int fd)>& fill) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return Outcome(Reason::kIntegrity, path.filename().string() + ": appears twice in the source");
    return Outcome(Reason::kOperational, "cannot create " + path.string() + ": " + std::strerror(errno));
  }
  Outcome outcome = fill(fd);
  if (::close(fd) != 0 && outcome.ok()) {
    outcome = Outcome(Reason::kOperational, "cannot write " + path.string() + ": " + std::strerror(errno));
  }
  return outcome;
}

Outcome WriteAll(int fd, const char* data, size_t size, const fs::path& path) {
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Outcome(Reason::kOperational, "cannot write " + path.string() + ": " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return Outcome::Ok();
}

Outcome CopyFolder(const fs::path& source, const fs::path& dest, const FetchOptions& options) {
  uint64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(source, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path relative = it->path().lexically_relative(source);
    const fs::file_status status = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_symlink(status)) {
      return Outcome(Reason::kIntegrity, relative.string() + ": a symbolic link (bundles hold files only)");
    }
    if (fs::is_directory(status)) {
      if (!fs::create_directory(dest / relative, ec) && ec) break;
      continue;
    }
    if (!fs::is_regular_file(status)) return Outcome(Reason::kIntegrity, relative.string() + ": not a regular file");
    total += it->file_size(ec);
    if (ec) break;
    if (total > options.max_bytes) {
      return Unavailable(source.string() + ": larger than " + std::to_string(options.max_bytes) + " bytes");
    }
    const int in = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0) return Unavailable("cannot read " + it->path().string() + ": " + std::strerror(errno));
    Outcome copied = WriteNewFile(dest / relative, [&](int out) {
      std::vector<char> buffer(1 << 16);
      while (true) {
        const ssize_t n = ::read(in, buffer.data(), buffer.size());
        if (n == 0) return Outcome::Ok();
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Unavailable("cannot read " + it->path().string() + ": " + std::strerror(errno));
        TOLLGATE_RETURN_IF_REFUSED(WriteAll(out, buffer.data(), static_cast<size_t>(n), dest / relative));
      }
    });
    ::close(in);
    TOLLGATE_RETURN_IF_REFUSED(copied);
  }
  if (ec) return Unavailable("cannot copy " + source.string() + ": " + ec.message());
  return Outcome::Ok();
}

Outcome UnpackZip(const fs::path& archive_path, const fs::path& dest, const FetchOptions& options) {
  int error = 0;
  std::unique_ptr<zip_t, ZipCloser> archive(zip_open(archive_path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &error));
  if (!archive) {
    zip_error_t zip_error;
    zip_error_init_with_code(&zip_error, error);
    Outcome outcome = Unavailable(archive_path.string() + ": not a readable zip archive (" +
                                  zip_error_strerror(&zip_error) + ")");
    zip_error_fini(&zip_error);
    return outcome;
  }
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  if (count > kMaxArchiveEntries) return Unavailable(archive_path.string() + ": too many entries");
  uint64_t total = 0;
  for (zip_int64_t i = 0; i < count; ++i) {
    const auto index = static_cast<zip_uint64_t>(i);
    zip_stat_t stat;
    if (zip_stat_index(archive.get(), index, ZIP_FL_ENC_RAW, &stat) != 0 || !(stat.valid & ZIP_STAT_NAME) ||
        !(stat.valid & ZIP_STAT_SIZE)) {
      return Unavailable(archive_path.string() + ": unreadable entry " + std::to_string(i));
    }
    const std::string name = stat.name;
    if (!IsSafeMemberName(name)) return Outcome(Reason::kIntegrity, "archive entry \"" + name + "\": unsafe name");
    if ((stat.valid & ZIP_STAT_ENCRYPTION_METHOD) && stat.encryption_method != ZIP_EM_NONE) {
      return Outcome(Reason::kIntegrity, "archive entry " + name + ": encrypted");
    }
    zip_uint8_t opsys = 0;
    zip_uint32_t attributes = 0;
    const bool is_dir = name.back() == '/';
    if (zip_file_get_external_attributes(archive.get(), index, 0, &opsys, &attributes) == 0 && opsys == ZIP_OPSYS_UNIX) {
      const mode_t mode = attributes >> 16;
      if (S_ISLNK(mode)) return Outcome(Reason::kIntegrity, "archive entry " + name + ": a symbolic link");
      if (mode != 0 && !S_ISREG(mode) && !S_ISDIR(mode)) {
        return Outcome(Reason::kIntegrity, "archive entry " + name + ": not a regular file");
      }
    }
    const fs::path target = dest / fs::path(name).lexically_normal();
    std::error_code ec;
    fs::create_directories(is_dir ? target : target.parent_path(), ec);
    if (ec) return Outcome(Reason::kOperational, "cannot create " + target.string() + ": " + ec.message());
    if (is_dir) continue;
    total += stat.size;
    if (total > options.max_bytes) {
      return Unavailable(archive_path.string() + ": unpacks to more than " + std::to_string(options.max_bytes) + " bytes");
    }
    std::unique_ptr<zip_file_t, ZipFileCloser> member(zip_fopen_index(archive.get(), index, 0));
    if (!member) return Unavailable("archive entry " + name + ": " + zip_strerror(archive.get()));
    TOLLGATE_RETURN_IF_REFUSED(WriteNewFile(target, [&](int fd) {
      std::vector<char> buffer(1 << 16);
      uint64_t written = 0;
      while (true) {
        const zip_int64_t n = zip_fread(member.get(), buffer.data(), buffer.size());
        if (n == 0) return Outcome::Ok();
        if (n < 0) return Unavailable("archive entry " + name + ": " + zip_file_strerror(member.get()));
        written += static_cast<uint64_t>(n);
        // The declared size was what the total limit counted; more bytes than that is a lie.
        if (written > stat.size) return Outcome(Reason::kIntegrity, "archive entry " + name + ": larger than declared");
        TOLLGATE_RETURN_IF_REFUSED(WriteAll(fd, buffer.data(), static_cast<size_t>(n), target));
      }
    }));
  }
  return Outcome::Ok();
}

struct Download {
  std::FILE* file;
  uint64_t written = 0;
  uint64_t max_bytes;
};

size_t WriteDownload(char* data, size_t size, size_t count, void* context) {
  auto* download = static_cast<Download*>(context);
  const size_t bytes = size * count;
  download->written += bytes;
  // Returning less than given makes libcurl stop with CURLE_WRITE_ERROR.
  if (download->written > download->max_bytes) return 0;
  return std::fwrite(data, 1, bytes, download->file);
}

Outcome DownloadFile(const std::string& url, const fs::path& file, const FetchOptions& options) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, CurlCleanup> curl(curl_easy_init());
  UniqueFile out(std::fopen(file.c_str(), "wbx"));
  if (!curl || !out) return Outcome(Reason::kOperational, "cannot start the download to " + file.string());
  Download download{out.get(), 0, options.max_bytes};
  char error[CURL_ERROR_SIZE] = "";
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  // https only, redirects included: the signature protects the content, TLS its freshness.
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "tollgate-rules-update/1");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteDownload);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &download);
  if (!options.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options.ca_file.c_str());
  const CURLcode result = curl_easy_perform(c);
  if (result != CURLE_OK) {
    if (download.written > options.max_bytes) {
      return Unavailable(url + ": larger than " + std::to_string(options.max_bytes) + " bytes");
    }
    return Unavailable(url + ": " + (error[0] != '\0' ? std::string(error) : curl_easy_strerror(result)));
  }
  if (std::fflush(out.get()) != 0) return Outcome(Reason::kOperational, "cannot write " + file.string());
  return Outcome::Ok();
}

// The bundle root inside an unpacked archive: the root, or its one folder when only that is there.
fs::path BundleRoot(const fs::path& unpacked) {
  std::error_code ec;
  if (fs::exists(unpacked / kManifestFile, ec)) return unpacked;
  fs::directory_iterator it(unpacked, ec), end;
  if (ec || it == end) return unpacked;
  const fs::directory_entry only = *it;
  if (it.increment(ec); !ec && it == end && only.is_directory(ec) && !only.is_symlink(ec)) return only.path();
  return unpacked;
}

}  // namespace

OutcomeOr<fs::path> FetchBundle(const std::string& source, const fs::path& work_dir, const FetchOptions& options) {
  const fs::path unpacked = work_dir / "bundle";
  std::error_code ec;
  if (!fs::create_directory(unpacked, ec)) {
    return Outcome(Reason::kOperational, "cannot create " + unpacked.string() + ": " + (ec ? ec.message() : "exists"));
  }
  if (source.starts_with("https://")) {
    const fs::path archive = work_dir / "download.zip";
    TOLLGATE_RETURN_IF_REFUSED(DownloadFile(source, archive, options));
    TOLLGATE_RETURN_IF_REFUSED(UnpackZip(archive, unpacked, options));
    fs::remove(archive, ec);
    return BundleRoot(unpacked);
  }
  if (source.find("://") != std::string::npos) {
    return Unavailable(source + ": only local paths and https:// URLs are sources");
  }
  const fs::file_status status = fs::status(source, ec);
  if (fs::is_directory(status)) {
    TOLLGATE_RETURN_IF_REFUSED(CopyFolder(source, unpacked, options));
    return unpacked;
  }
  if (fs::is_regular_file(status)) {
    TOLLGATE_RETURN_IF_REFUSED(UnpackZip(source, unpacked, options));
    return BundleRoot(unpacked);
  }
  return Unavailable(source + ": no such folder or .zip archive");
}

}  // namespace tollgate::rules
