#include "tollgate/audit/log_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "log_files.h"
#include "tollgate/audit/checkpoint_key.h"

namespace tollgate::audit {
namespace {

constexpr mode_t kFileMode = 0640;
constexpr mode_t kDirMode = 0750;

Status Errno(std::string_view what, const std::string& path) {
  return Internal(fmt::format("audit log {}: {}: {}", path, what, std::strerror(errno)));
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write failed", path);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// The folder, created 0750 when missing; fchmod makes the mode independent of the umask.
StatusOr<UniqueFd> OpenFolder(const std::string& dir) {
  const bool created = ::mkdir(dir.c_str(), kDirMode) == 0;
  if (!created && errno != EEXIST) return Errno("cannot create the folder", dir);
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Errno("cannot open the folder", dir);
  if (created && ::fchmod(fd.get(), kDirMode) != 0) return Errno("cannot set the folder's mode", dir);
  // One writer per folder: two would fork the chain.
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return FailedPrecondition(fmt::format("audit log {}: another process is writing this folder", dir));
    }
    return Errno("cannot lock the folder", dir);
  }
  return fd;
}

}  // namespace

std::string_view ToString(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::kAlways: return "always";
    case FsyncPolicy::kBlocks: return "blocks";
    case FsyncPolicy::kNever: return "never";
  }
  return "blocks";
}

std::optional<FsyncPolicy> ParseFsyncPolicy(std::string_view text) {
  for (FsyncPolicy policy : {FsyncPolicy::kAlways, FsyncPolicy::kBlocks, FsyncPolicy::kNever}) {
    if (ToString(policy) == text) return policy;
  }
  return std::nullopt;
}

struct AuditLog::State {
  LogOptions options;
  SigningKey key;
  UniqueFd dir_fd;  // holds the folder's flock

  std::mutex mutex;
  std::condition_variable sync_done;
  std::condition_variable stop_requested;
  bool stopping = false;
  bool closed = false;
  Status failed;  // sticky: set by the first write or sync error

  UniqueFd fd;
  std::string file_name, file_date;
  uint64_t file_bytes = 0;

  uint64_t next_seq = 1;
  std::string last_hash{kGenesisHash};
  uint64_t since_checkpoint = 0;
  uint64_t last_checkpoint_seq = 0;
  Clock::time_point last_checkpoint_time;

  uint64_t written_seq = 0, synced_seq = 0;
  bool sync_in_progress = false;
  LogStats stats;

  Clock::time_point Now() const { return options.clock ? options.clock() : Clock::now(); }
  std::string PathOf(std::string_view name) const { return options.dir + "/" + std::string(name); }
  bool SyncsCheckpoints() const { return options.fsync != FsyncPolicy::kNever; }

  Status Fail(Status status) {
    if (failed.ok()) failed = status;
    return status;
  }

  StatusOr<uint64_t> WriteLocked(EventType type, const nlohmann::ordered_json& fields, const std::string& time) {
    auto line = FormatRecord(next_seq, time, type, fields, last_hash);
    if (!line.ok()) return line.status();
    line->push_back('\n');
    if (Status written = WriteAll(fd.get(), *line, PathOf(file_name)); !written.ok()) return Fail(written);
    line->pop_back();
    last_hash = RecordHash(*line);
    file_bytes += line->size() + 1;
    written_seq = next_seq++;
    if (type != EventType::kCheckpoint) ++since_checkpoint;
    ++stats.records;
    stats.last_seq = written_seq;
    return written_seq;
  }

  Status CheckpointLocked(std::string_view reason, Clock::time_point now) {
    const std::string time = FormatTime(now);
    auto signature = key.Sign(CheckpointMessage(next_seq, time, last_hash));
    if (!signature.ok()) return Fail(signature.status());
    nlohmann::ordered_json fields = {{"reason", reason}, {"key", key.fingerprint()}, {"sig", *signature}};
    auto seq = WriteLocked(EventType::kCheckpoint, fields, time);
    if (!seq.ok()) return seq.status();
    since_checkpoint = 0;
    last_checkpoint_seq = *seq;
    last_checkpoint_time = now;
    ++stats.checkpoints;
    return Status::Ok();
  }

  // Group commit: one fdatasync, run outside the mutex, covers every record written before it.
  Status SyncLocked(std::unique_lock<std::mutex>& lock, uint64_t target) {
    while (synced_seq < target) {
      if (!failed.ok()) return failed;
      if (sync_in_progress) {
        sync_done.wait(lock);
        continue;
      }
      sync_in_progress = true;
      const uint64_t covers = written_seq;
      const int sync_fd = fd.get();
      lock.unlock();
      const int result = ::fdatasync(sync_fd);
      const int error = errno;
      lock.lock();
      sync_in_progress = false;
      ++stats.syncs;
      if (result != 0) {
        errno = error;
        (void)Fail(Errno("fdatasync failed", PathOf(file_name)));
      } else {
        synced_seq = std::max(synced_seq, covers);
      }
      sync_done.notify_all();
    }
    return Status::Ok();
  }

  // Waits out a sync running outside the mutex, so the descriptor can be closed or replaced.
  void WaitForSyncLocked(std::unique_lock<std::mutex>& lock) {
    sync_done.wait(lock, [this] { return !sync_in_progress; });
  }

  // A new file for `now`'s date whose header links to the previous file, then a checkpoint.
  // `previous_file` is a copy: it is often file_name itself, which changes here.
  Status StartFileLocked(Clock::time_point now, std::string_view reason, std::string previous_file,
                         uint64_t previous_bytes, uint64_t torn_bytes) {
    const std::string date = UtcDate(now);
    const std::string name = MakeLogFileName(date, next_seq);
    UniqueFd created(::openat(dir_fd.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, kFileMode));
    if (!created) return Fail(Errno("cannot create", PathOf(name)));
    if (::fchmod(created.get(), kFileMode) != 0) return Fail(Errno("cannot set the mode of", PathOf(name)));
    if (SyncsCheckpoints() && ::fsync(dir_fd.get()) != 0) return Fail(Errno("cannot sync the folder", options.dir));
    fd = std::move(created);
    file_name = name;
    file_date = date;
    file_bytes = 0;
    ++stats.files_created;
    stats.current_file = name;

    nlohmann::ordered_json fields = {{"file", name}, {"reason", reason}};
    fields["prev_file"] = previous_file.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(previous_file);
    fields["prev_file_bytes"] = previous_bytes;
    if (torn_bytes > 0) fields["torn_bytes"] = torn_bytes;
    auto header = WriteLocked(EventType::kFileStart, fields, FormatTime(now));
    if (!header.ok()) return header.status();
    return CheckpointLocked(reason, now);
  }

  Status RotateIfNewDayLocked(std::unique_lock<std::mutex>& lock, Clock::time_point now) {
    if (UtcDate(now) == file_date) return Status::Ok();
    WaitForSyncLocked(lock);
    // Another appender may have rotated while this one waited.
    if (UtcDate(now) == file_date) return Status::Ok();
    if (SyncsCheckpoints()) {
      if (::fdatasync(fd.get()) != 0) return Fail(Errno("fdatasync failed", PathOf(file_name)));
      ++stats.syncs;
    }
    synced_seq = written_seq;
    TOLLGATE_RETURN_IF_ERROR(StartFileLocked(now, "rotation", file_name, file_bytes, 0));
    TOLLGATE_RETURN_IF_ERROR(RetentionLocked(lock, now));
    return SyncsCheckpoints() ? SyncLocked(lock, written_seq) : Status::Ok();
  }

  // Removes the oldest files dated more than retention_days ago, once a checkpointed `retention`
  // record names them. Problems become a `retention` record with an `error`, never a failed append.
  Status RetentionLocked(std::unique_lock<std::mutex>& lock, Clock::time_point now) {
    const std::string cutoff = UtcDate(now - std::chrono::hours(24) * options.retention_days);
    auto folder = ListLogFiles(options.dir);
    if (!folder.ok()) return RecordRetentionError(now, cutoff, folder.status().message());
    nlohmann::ordered_json removed = nlohmann::ordered_json::array();
    std::vector<std::string> names;
    const auto& files = folder->files;
    // Only a prefix of the chain goes, and only files a checkpoint in the current file covers.
    for (size_t i = 0; i + 1 < files.size() && files[i].date < cutoff && files[i + 1].first_seq <= last_checkpoint_seq;
         ++i) {
      if (files[i].name == file_name || files[i + 1].first_seq <= files[i].first_seq) break;
      auto next_header = ReadFirstLine(PathOf(files[i + 1].name));
      if (!next_header.ok()) return RecordRetentionError(now, cutoff, next_header.status().message());
      const auto header = nlohmann::json::parse(*next_header, nullptr, false);
      if (!header.is_object() || !header.contains("prev") || !header["prev"].is_string()) {
        return RecordRetentionError(now, cutoff, files[i + 1].name + ": line 1 is not a valid file_start record");
      }
      struct stat info {};
      if (::fstatat(dir_fd.get(), files[i].name.c_str(), &info, 0) != 0) {
        return RecordRetentionError(now, cutoff, files[i].name + ": " + std::strerror(errno));
      }
      removed.push_back({{"file", files[i].name},
                         {"first_seq", files[i].first_seq},
                         {"last_seq", files[i + 1].first_seq - 1},
                         {"last_hash", header["prev"].get<std::string>()},
                         {"bytes", static_cast<uint64_t>(info.st_size)}});
      names.push_back(files[i].name);
    }
    if (names.empty()) return Status::Ok();

    // The record that vouches for the removal is signed and on disk before anything is removed.
    nlohmann::ordered_json fields = {
        {"retention_days", options.retention_days}, {"cutoff", cutoff}, {"removed", std::move(removed)}};
    auto seq = WriteLocked(EventType::kRetention, fields, FormatTime(now));
    if (!seq.ok()) return seq.status();
    TOLLGATE_RETURN_IF_ERROR(CheckpointLocked("retention", now));
    TOLLGATE_RETURN_IF_ERROR(SyncLocked(lock, written_seq));
    std::string errors;
    for (const std::string& name : names) {
      if (::unlinkat(dir_fd.get(), name.c_str(), 0) == 0) {
        ++stats.files_removed;
      } else {
        errors += fmt::format("{}{}: {}", errors.empty() ? "" : "; ", name, std::strerror(errno));
      }
    }
    if (SyncsCheckpoints()) ::fsync(dir_fd.get());
    return errors.empty() ? Status::Ok() : RecordRetentionError(now, cutoff, "cannot remove " + errors);
  }

  Status RecordRetentionError(Clock::time_point now, const std::string& cutoff, const std::string& error) {
    nlohmann::ordered_json fields = {{"retention_days", options.retention_days},
                                     {"cutoff", cutoff},
                                     {"removed", nlohmann::ordered_json::array()},
                                     {"error", error}};
    auto seq = WriteLocked(EventType::kRetention, fields, FormatTime(now));
    return seq.ok() ? Status::Ok() : seq.status();
  }

  bool CheckpointDue(Clock::time_point now) const {
    return since_checkpoint >= options.checkpoint_every ||
           (since_checkpoint > 0 && now - last_checkpoint_time >= options.checkpoint_interval);
  }

  // Continues the newest file when it is today's and intact; otherwise starts a new one linked to it.
  Status ResumeLocked(Clock::time_point now) {
    auto folder = ListLogFiles(options.dir);
    if (!folder.ok()) return folder.status();
    auto& files = folder->files;
    // A file left empty by a crash between its creation and its header holds nothing to keep.
    while (!files.empty()) {
      struct stat info {};
      if (::fstatat(dir_fd.get(), files.back().name.c_str(), &info, 0) != 0 || info.st_size != 0) break;
      if (::unlinkat(dir_fd.get(), files.back().name.c_str(), 0) != 0) return Errno("cannot remove", PathOf(files.back().name));
      files.pop_back();
    }
    if (files.empty()) return StartFileLocked(now, "new_log", "", 0, 0);

    const LogFileName& newest = files.back();
    auto end = ReadFileEnd(PathOf(newest.name));
    if (!end.ok()) return end.status();
    const auto last = nlohmann::json::parse(end->last_line, nullptr, false);
    if (!last.is_object() || !last.contains("seq") || !last["seq"].is_number_unsigned()) {
      return DataLoss(fmt::format("audit log {}: the last complete record of {} is not valid; run `tollgate audit "
                                  "verify` and move the damaged file aside",
                                  options.dir, newest.name));
    }
    next_seq = last["seq"].get<uint64_t>() + 1;
    last_hash = RecordHash(end->last_line);
    const uint64_t torn = end->size - end->complete_bytes;
    if (torn == 0 && newest.date == UtcDate(now)) {
      fd = UniqueFd(::openat(dir_fd.get(), newest.name.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
      if (!fd) return Errno("cannot open", PathOf(newest.name));
      file_name = newest.name;
      file_date = newest.date;
      file_bytes = end->size;
      stats.current_file = file_name;
      // Signs whatever the previous run left after its last checkpoint (it may have been killed).
      return CheckpointLocked("start", now);
    }
    return StartFileLocked(now, torn > 0 ? "recovery" : "restart", newest.name, end->complete_bytes, torn);
  }
};

AuditLog::AuditLog(std::unique_ptr<State> state) : state_(std::move(state)) {}

AuditLog::~AuditLog() { (void)Close(); }

StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(LogOptions options) try {
  if (options.dir.empty()) return InvalidArgument("the audit log needs a folder");
  if (options.checkpoint_every == 0) return InvalidArgument("checkpoints must come every 1 or more records");
  auto key = SigningKey::Load(options.key_file);
  if (!key.ok()) return key.status();
  auto dir_fd = OpenFolder(options.dir);
  if (!dir_fd.ok()) return dir_fd.status();

  auto state = std::make_unique<State>();
  state->options = std::move(options);
  state->key = std::move(*key);
  state->dir_fd = std::move(*dir_fd);
  {
    std::unique_lock lock(state->mutex);
    const Clock::time_point now = state->Now();
    TOLLGATE_RETURN_IF_ERROR(state->ResumeLocked(now));
    TOLLGATE_RETURN_IF_ERROR(state->RetentionLocked(lock, now));
    if (state->SyncsCheckpoints()) TOLLGATE_RETURN_IF_ERROR(state->SyncLocked(lock, state->written_seq));
  }
  std::unique_ptr<AuditLog> log(new AuditLog(std::move(state)));
  if (log->state_->options.background) log->background_ = std::thread([raw = log.get()] { raw->RunBackground(); });
  return log;
} catch (const std::exception& error) {
  return Internal(fmt::format("audit log: {}", error.what()));
}

StatusOr<uint64_t> AuditLog::Append(const Event& event) try {
  if (event.type == EventType::kFileStart || event.type == EventType::kCheckpoint ||
      event.type == EventType::kRetention) {
    return InvalidArgument(fmt::format("\"{}\" records are written by the log itself", ToString(event.type)));
  }
  State& s = *state_;
  std::unique_lock lock(s.mutex);
  if (s.closed) return FailedPrecondition("the audit log is closed");
  if (!s.failed.ok()) return s.failed;
  const Clock::time_point now = s.Now();
  TOLLGATE_RETURN_IF_ERROR(s.RotateIfNewDayLocked(lock, now));
  auto seq = s.WriteLocked(event.type, event.fields, FormatTime(now));
  if (!seq.ok()) return seq.status();
  const FsyncPolicy policy = s.options.fsync;
  bool sync = policy == FsyncPolicy::kAlways || (policy == FsyncPolicy::kBlocks && event.critical);
  if (s.CheckpointDue(now)) {
    TOLLGATE_RETURN_IF_ERROR(
        s.CheckpointLocked(s.since_checkpoint >= s.options.checkpoint_every ? "records" : "interval", now));
    sync = sync || s.SyncsCheckpoints();
  }
  if (sync) TOLLGATE_RETURN_IF_ERROR(s.SyncLocked(lock, s.written_seq));
  return seq;
} catch (const std::exception& error) {
  return Internal(fmt::format("audit log: {}", error.what()));
}

Status AuditLog::Tick() try {
  State& s = *state_;
  std::unique_lock lock(s.mutex);
  if (s.closed || !s.failed.ok()) return s.failed;
  const Clock::time_point now = s.Now();
  TOLLGATE_RETURN_IF_ERROR(s.RotateIfNewDayLocked(lock, now));
  if (s.since_checkpoint > 0 && s.CheckpointDue(now)) {
    TOLLGATE_RETURN_IF_ERROR(s.CheckpointLocked("interval", now));
    if (s.SyncsCheckpoints()) return s.SyncLocked(lock, s.written_seq);
  }
  return Status::Ok();
} catch (const std::exception& error) {
  return Internal(fmt::format("audit log: {}", error.what()));
}

Status AuditLog::Close() try {
  State& s = *state_;
  {
    std::lock_guard lock(s.mutex);
    if (s.closed) return Status::Ok();
    s.stopping = true;
  }
  s.stop_requested.notify_all();
  if (background_.joinable()) background_.join();
  std::unique_lock lock(s.mutex);
  Status status = s.failed;
  if (status.ok()) status = s.CheckpointLocked("shutdown", s.Now());
  if (status.ok() && s.SyncsCheckpoints()) status = s.SyncLocked(lock, s.written_seq);
  s.WaitForSyncLocked(lock);
  s.closed = true;
  s.fd.reset();
  s.dir_fd.reset();
  return status;
} catch (const std::exception& error) {
  return Internal(fmt::format("audit log: {}", error.what()));
}

LogStats AuditLog::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

void AuditLog::RunBackground() {
  State& s = *state_;
  while (true) {
    {
      std::unique_lock lock(s.mutex);
      if (s.stop_requested.wait_for(lock, std::chrono::seconds(1), [&s] { return s.stopping; })) return;
    }
    // Errors are sticky; the next Append reports them.
    (void)Tick();
  }
}

}  // namespace tollgate::audit
