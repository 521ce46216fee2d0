#include "store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "file_util.h"

namespace tollgate::rules {
namespace fs = std::filesystem;
namespace {

constexpr char kVersionsDir[] = "versions";
constexpr char kCompiledDir[] = "compiled";
constexpr char kCurrentLink[] = "current";
constexpr char kWithdrawnFile[] = "withdrawn";
constexpr char kStagingDir[] = "staging";
constexpr char kLockFile[] = "lock";
constexpr uint64_t kMaxWithdrawnBytes = 1 << 20;

Outcome Failed(const std::string& what, const fs::path& path, const std::string& why) {
  return Outcome(Reason::kOperational, what + " " + path.string() + ": " + why);
}

std::vector<std::string> WithdrawnVersions(const fs::path& store) {
  std::vector<std::string> versions;
  auto text = ReadSmallFile(store / kWithdrawnFile, kMaxWithdrawnBytes);
  if (!text.ok()) return versions;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) versions.push_back(line);
  }
  return versions;
}

}  // namespace

std::optional<BundleVersion> ActiveVersion(const fs::path& store) {
  std::error_code ec;
  const fs::path target = fs::read_symlink(store / kCurrentLink, ec);
  if (ec || target.parent_path() != kVersionsDir) return std::nullopt;
  return BundleVersion::Parse(target.filename().string());
}

StatusOr<fs::path> ActiveBundleDir(const fs::path& store) {
  std::optional<BundleVersion> version = ActiveVersion(store);
  if (!version) {
    return NotFound("rules store " + store.string() + " has no active version (install one with `tollgate rules update`)");
  }
  std::error_code ec;
  fs::path dir = fs::absolute(store, ec) / kVersionsDir / version->text();
  if (ec || !fs::is_directory(dir, ec)) return NotFound("rules store " + store.string() + ": " + dir.string() + " is missing");
  return dir;
}

OutcomeOr<Store> Store::Open(const fs::path& dir) {
  std::error_code ec;
  for (const fs::path& folder : {dir, dir / kVersionsDir, dir / kStagingDir}) {
    fs::create_directories(folder, ec);
    if (ec) return Failed("cannot create", folder, ec.message());
  }
  const fs::path lock_path = dir / kLockFile;
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return Failed("cannot open", lock_path, std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    char holder[32] = "";
    const ssize_t n = ::pread(fd, holder, sizeof holder - 1, 0);
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return Outcome(Reason::kBusy, "rules store " + dir.string() + " is locked by another update or rollback" +
                                        (n > 0 ? " (pid " + std::string(holder, static_cast<size_t>(n)) + ")" : ""));
    }
    return Failed("cannot lock", lock_path, std::strerror(error));
  }
  // The holder's pid, for the message another run prints; the lock itself is the flock.
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    ::close(fd);
    return Failed("cannot write", lock_path, std::strerror(errno));
  }
  return Store(dir, fd);
}

Store::Store(Store&& other) noexcept : dir_(std::move(other.dir_)), lock_fd_(std::exchange(other.lock_fd_, -1)) {}

Store::~Store() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::optional<BundleVersion> Store::active() const { return ActiveVersion(dir_); }

std::vector<BundleVersion> Store::installed() const { return InstalledVersions(dir_); }

std::vector<BundleVersion> InstalledVersions(const fs::path& store) {
  std::vector<BundleVersion> versions;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(store / kVersionsDir, ec)) {
    if (!entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    if (auto version = BundleVersion::Parse(entry.path().filename().string())) versions.push_back(*version);
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

bool Store::IsWithdrawn(const BundleVersion& version) const {
  const std::vector<std::string> withdrawn = WithdrawnVersions(dir_);
  return std::any_of(withdrawn.begin(), withdrawn.end(), [&](const std::string& text) {
    auto parsed = BundleVersion::Parse(text);
    return parsed && *parsed == version;
  });
}

fs::path Store::VersionDir(const BundleVersion& version) const { return dir_ / kVersionsDir / version.text(); }
fs::path Store::CompiledDir(const BundleVersion& version) const { return dir_ / kCompiledDir / version.text(); }

fs::path CompiledDirOf(const fs::path& store, const fs::path& bundle_dir) {
  return store / kCompiledDir / bundle_dir.filename();
}

OutcomeOr<fs::path> Store::NewStagingDir() {
  const fs::path staging = dir_ / kStagingDir;
  std::error_code ec;
  // Under the lock, whatever is here is left over from an update that died.
  for (const fs::directory_entry& entry : fs::directory_iterator(staging, ec)) fs::remove_all(entry.path(), ec);
  std::string pattern = (staging / "update-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return Failed("cannot create a folder in", staging, std::strerror(errno));
  return fs::path(pattern);
}

Outcome Store::SwitchCurrent(const BundleVersion& version) {
  const fs::path link = dir_ / kCurrentLink;
  const fs::path next = dir_ / "current.next";
  std::error_code ec;
  fs::remove(next, ec);
  fs::create_directory_symlink(fs::path(kVersionsDir) / version.text(), next, ec);
  if (ec) return Failed("cannot create", next, ec.message());
  // rename(2) replaces the link atomically: a reader sees the old version or the new, never neither.
  if (::rename(next.c_str(), link.c_str()) != 0) return Failed("cannot switch", link, std::strerror(errno));
  return Outcome::From(SyncDirectory(dir_));
}

Outcome Store::Publish(const fs::path& bundle, const BundleVersion& version) {
  TOLLGATE_RETURN_IF_REFUSED(Outcome::From(SyncTree(bundle)));
  const fs::path target = VersionDir(version);
  std::error_code ec;
  // A folder of this version that is not active is debris (an update that died before switching).
  if (active() != version) fs::remove_all(target, ec);
  if (::rename(bundle.c_str(), target.c_str()) != 0) return Failed("cannot move the bundle to", target, std::strerror(errno));
  TOLLGATE_RETURN_IF_REFUSED(Outcome::From(SyncDirectory(dir_ / kVersionsDir)));
  return SwitchCurrent(version);
}

OutcomeOr<BundleVersion> Store::Rollback() {
  const std::optional<BundleVersion> current = active();
  if (!current) return Outcome(Reason::kNoPrevious, "rules store " + dir_.string() + " has no active version");
  std::optional<BundleVersion> previous;
  for (const BundleVersion& version : installed()) {
    if (version < *current) previous = version;
  }
  if (!previous) {
    return Outcome(Reason::kNoPrevious, "no version older than " + current->text() + " is kept in " + dir_.string());
  }
  // Withdrawn first: should the switch fail, a timer's next update still cannot bring it back.
  if (!IsWithdrawn(*current)) {
    std::string withdrawn;
    for (const std::string& line : WithdrawnVersions(dir_)) withdrawn += line + "\n";
    withdrawn += current->text() + "\n";
    TOLLGATE_RETURN_IF_REFUSED(Outcome::From(WriteFileAtomically(dir_ / kWithdrawnFile, withdrawn)));
  }
  TOLLGATE_RETURN_IF_REFUSED(SwitchCurrent(*previous));
  std::error_code ec;
  fs::remove_all(VersionDir(*current), ec);
  fs::remove_all(CompiledDir(*current), ec);
  return *previous;
}

Outcome Store::Prune(size_t keep) {
  const std::optional<BundleVersion> current = active();
  if (!current) return Outcome::Ok();
  std::vector<BundleVersion> versions = installed();
  size_t older_kept = 0;
  std::error_code ec;
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    if (*it == *current) continue;
    if (*it < *current && older_kept + 1 < keep) {
      ++older_kept;
      continue;
    }
    fs::remove_all(VersionDir(*it), ec);
    if (ec) return Failed("cannot delete", VersionDir(*it), ec.message());
    fs::remove_all(CompiledDir(*it), ec);
  }
  // Left by updates that were refused: compiled rules of versions not kept.
  for (const fs::directory_entry& entry : fs::directory_iterator(dir_ / kCompiledDir, ec)) {
    std::error_code exists;
    if (!fs::exists(dir_ / kVersionsDir / entry.path().filename(), exists)) fs::remove_all(entry.path(), exists);
  }
  return Outcome::Ok();
}

}  // namespace tollgate::rules
