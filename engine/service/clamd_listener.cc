#include "clamd_listener.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>

#include "address.h"
#include "clamd_protocol.h"
#include "decision_log.h"
#include "front_end.h"

namespace tollgate::service {
namespace {

using Clock = std::chrono::steady_clock;
using clamd::Command;
using clamd::Framing;
using clamd::Verb;

// Deepest folder nesting SCAN walks: a bound on recursion whatever the tree.
constexpr int kMaxFolderDepth = 64;
constexpr int kListenBacklog = 64;
constexpr char kInvalidInSession[] = "Command invalid inside IDSESSION. ERROR";

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::string ErrnoText(int error) { return std::strerror(error); }

// An id or a name from the passwd/group database; nullopt when neither.
std::optional<uid_t> UserId(const std::string& user) {
  if (!user.empty() && std::all_of(user.begin(), user.end(), ::isdigit)) return static_cast<uid_t>(std::stoul(user));
  if (const passwd* entry = ::getpwnam(user.c_str())) return entry->pw_uid;
  return std::nullopt;
}

std::optional<gid_t> GroupId(const std::string& group) {
  if (!group.empty() && std::all_of(group.begin(), group.end(), ::isdigit)) return static_cast<gid_t>(std::stoul(group));
  if (const struct group* entry = ::getgrnam(group.c_str())) return entry->gr_gid;
  return std::nullopt;
}

// Opens `path` below `root` without following any symbolic link, nor leaving `root`.
int OpenBeneath(int root, const char* path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root, path, &how, sizeof how));
}

// "a/./b//c" -> "a/b/c"; nullopt for ".." anywhere: a path that climbs is refused, not resolved.
std::optional<std::string> NormalRelative(std::string_view path) {
  std::string out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    if (part == "..") return std::nullopt;
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    start = end + 1;
  }
  return out;
}

StatusOr<std::string> ReadBounded(int fd, uint64_t limit, bool& over_limit) {
  std::string content;
  char buffer[1 << 16];
  over_limit = false;
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) continue;
      return Unavailable(fmt::format("read failed: {}", ErrnoText(errno)));
    }
    if (got == 0) return content;
    if (content.size() + static_cast<size_t>(got) > limit) {
      over_limit = true;
      return content;
    }
    content.append(buffer, static_cast<size_t>(got));
  }
}

}  // namespace

// The folders path commands may read below, each opened once at start (O_PATH).
struct ClamdListener::Roots {
  struct Root {
    std::string path;  // absolute, normalised, without a trailing slash
    UniqueFd fd;
  };
  std::vector<Root> roots;
};

struct ClamdListener::Connection {
  UniqueFd fd;
  std::string peer;
  bool unix_socket = false;
  std::thread thread;
  std::atomic<bool> finished{false};
  std::string input;            // received, not yet taken
  std::deque<UniqueFd> passed;  // descriptors received with SCM_RIGHTS, oldest first
  Framing framing = Framing::kNewline;
  std::optional<uint64_t> session_id;  // the number of the command being answered in a session

  // Receives more bytes (and descriptors); false at the end of the stream, a timeout or an error.
  bool Fill() {
    char buffer[1 << 16];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
    iovec iov{buffer, sizeof buffer};
    msghdr message{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    if (unix_socket) {
      message.msg_control = control;
      message.msg_controllen = sizeof control;
    }
    ssize_t got;
    do {
      got = ::recvmsg(fd.get(), &message, MSG_CMSG_CLOEXEC);
    } while (got < 0 && errno == EINTR);
    if (unix_socket) {
      for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        const size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
          int received;
          std::memcpy(&received, CMSG_DATA(header) + i * sizeof(int), sizeof(int));
          passed.emplace_back(received);
        }
      }
    }
    if (got <= 0) return false;
    input.append(buffer, static_cast<size_t>(got));
    return true;
  }

  // Exactly `size` bytes into `out` (appended); false when the stream ends first.
  bool Take(size_t size, std::string& out) {
    while (input.size() < size) {
      if (!Fill()) return false;
    }
    out.append(input, 0, size);
    input.erase(0, size);
    return true;
  }

  void Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t sent = ::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent < 0 && errno == EINTR) continue;
      if (sent <= 0) return;  // the client went away; nothing to tell it
      bytes.remove_prefix(static_cast<size_t>(sent));
    }
  }

  void Reply(std::string_view text) { Send(clamd::Frame(text, framing, session_id)); }
};

ClamdListener::ClamdListener(ScanHost& host, DecisionLog& log, const ClamdOptions& options)
    : host_(host), log_(log), options_(options) {}

StatusOr<std::unique_ptr<ClamdListener>> ClamdListener::Start(const std::string& address, const ClamdOptions& options,
                                                              bool allow_insecure_remote, ScanHost& host,
                                                              DecisionLog& log) {
  std::unique_ptr<ClamdListener> listener(new ClamdListener(host, log, options));
  auto roots = std::make_shared<Roots>();
  for (const std::string& root : options.scan_roots) {
    std::error_code error;
    const std::filesystem::path canonical = std::filesystem::canonical(root, error);
    if (error) return InvalidArgument(fmt::format("--clamd-scan-root {}: {}", root, error.message()));
    UniqueFd fd(::open(canonical.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return InvalidArgument(fmt::format("--clamd-scan-root {}: {}", root, ErrnoText(errno)));
    roots->roots.push_back({canonical.string(), std::move(fd)});
  }
  listener->roots_ = std::move(roots);

  if (address.starts_with("unix:")) {
    const std::string path = address.substr(5);
    sockaddr_un socket_address{};
    socket_address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof socket_address.sun_path) {
      return InvalidArgument(fmt::format("--clamd-listen {}: a unix socket path of 1 to {} bytes", address,
                                         sizeof socket_address.sun_path - 1));
    }
    // A socket left by a server that did not stop cleanly is replaced; any other file is not ours.
    struct stat existing;
    if (::lstat(path.c_str(), &existing) == 0) {
      if (!S_ISSOCK(existing.st_mode)) {
        return InvalidArgument(fmt::format("--clamd-listen {}: exists and is not a socket", address));
      }
      ::unlink(path.c_str());
    }
    std::memcpy(socket_address.sun_path, path.data(), path.size());
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&socket_address), sizeof socket_address) != 0) {
      return Unavailable(fmt::format("--clamd-listen {}: cannot listen: {}", address, ErrnoText(errno)));
    }
    listener->unix_path_ = path;
    if (!options.socket_mode.empty()) {
      const unsigned long mode = std::strtoul(options.socket_mode.c_str(), nullptr, 8);
      if (mode > 07777 || ::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
        listener->Stop();
        return InvalidArgument(fmt::format("--clamd-socket-mode {}: cannot set it on {}", options.socket_mode, path));
      }
    }
    if (!options.socket_owner.empty() || !options.socket_group.empty()) {
      const std::optional<uid_t> owner = options.socket_owner.empty() ? std::optional<uid_t>(-1) : UserId(options.socket_owner);
      const std::optional<gid_t> group = options.socket_group.empty() ? std::optional<gid_t>(-1) : GroupId(options.socket_group);
      if (!owner || !group || ::chown(path.c_str(), *owner, *group) != 0) {
        listener->Stop();
        return InvalidArgument(fmt::format("--clamd-socket-owner/--clamd-socket-group: cannot give {} to {}:{}", path,
                                           options.socket_owner, options.socket_group));
      }
    }
    listener->listen_fd_ = fd.Release();
    listener->address_ = address;
  } else if (address.starts_with("tcp:")) {
    auto host_port = ParseHostPort(address.substr(4));
    if (!host_port.ok()) return InvalidArgument(fmt::format("--clamd-listen {}: {}", address, host_port.status().message()));
    if (!allow_insecure_remote && !IsLoopbackHost(host_port->host)) {
      return InvalidArgument(fmt::format(
          "--clamd-listen {} is not a loopback address: the clamd protocol has no authentication nor encryption; "
          "use a unix socket, or --allow-insecure-remote to listen there anyway",
          address));
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(host_port->port);
    if (::getaddrinfo(host_port->host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
      return InvalidArgument(fmt::format("--clamd-listen {}: unknown host", address));
    }
    UniqueFd fd(::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const int reuse = 1;
    if (fd.valid()) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
    const bool bound = fd.valid() && ::bind(fd.get(), found->ai_addr, found->ai_addrlen) == 0;
    ::freeaddrinfo(found);
    if (!bound) return Unavailable(fmt::format("--clamd-listen {}: cannot listen: {}", address, ErrnoText(errno)));
    sockaddr_storage bound_address{};
    socklen_t length = sizeof bound_address;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound_address), &length);
    const int bound_port = ntohs(bound_address.ss_family == AF_INET6
                                     ? reinterpret_cast<sockaddr_in6*>(&bound_address)->sin6_port
                                     : reinterpret_cast<sockaddr_in*>(&bound_address)->sin_port);
    const bool v6 = host_port->host.find(':') != std::string::npos;
    listener->address_ = fmt::format("tcp:{}{}{}:{}", v6 ? "[" : "", host_port->host, v6 ? "]" : "", bound_port);
    listener->listen_fd_ = fd.Release();
  } else {
    return InvalidArgument(fmt::format("--clamd-listen {}: expected unix:/PATH or tcp:HOST:PORT", address));
  }
  if (::listen(listener->listen_fd_, kListenBacklog) != 0) {
    listener->Stop();
    return Unavailable(fmt::format("--clamd-listen {}: cannot listen: {}", address, ErrnoText(errno)));
  }
  listener->wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (listener->wake_fd_ < 0) {
    listener->Stop();
    return Unavailable(fmt::format("--clamd-listen {}: eventfd: {}", address, ErrnoText(errno)));
  }
  listener->accept_thread_ = std::thread([raw = listener.get()] { raw->AcceptLoop(); });
  return listener;
}

ClamdListener::~ClamdListener() { Stop(); }

void ClamdListener::StopAccepting() {
  stopped_.store(true);
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(wake_fd_, &one, sizeof one);
  }
  if (accept_thread_.joinable()) accept_thread_.join();
}

void ClamdListener::Stop() {
  StopAccepting();
  {
    std::lock_guard lock(connections_mutex_);
    for (auto& connection : connections_) ::shutdown(connection->fd.get(), SHUT_RDWR);
  }
  // No new connection comes now: the threads can be joined without the lock.
  for (auto& connection : connections_) {
    if (connection->thread.joinable()) connection->thread.join();
  }
  connections_.clear();
  if (listen_fd_ >= 0) ::close(std::exchange(listen_fd_, -1));
  if (wake_fd_ >= 0) ::close(std::exchange(wake_fd_, -1));
  if (!unix_path_.empty()) ::unlink(std::exchange(unix_path_, std::string()).c_str());
}

void ClamdListener::ReapFinished() {
  std::lock_guard lock(connections_mutex_);
  for (auto it = connections_.begin(); it != connections_.end();) {
    if ((*it)->finished.load()) {
      (*it)->thread.join();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void ClamdListener::AcceptLoop() {
  pollfd watched[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (!stopped_.load()) {
    if (::poll(watched, 2, 1000) < 0 && errno != EINTR) break;
    ReapFinished();
    if (stopped_.load()) break;
    if ((watched[0].revents & POLLIN) == 0) continue;
    sockaddr_storage peer_address{};
    socklen_t length = sizeof peer_address;
    UniqueFd fd(::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer_address), &length, SOCK_CLOEXEC));
    if (!fd.valid()) continue;
    auto connection = std::make_unique<Connection>();
    connection->unix_socket = peer_address.ss_family == AF_UNIX;
    if (connection->unix_socket) {
      connection->peer = "unix:" + (unix_path_.empty() ? address_ : unix_path_);
    } else {
      char host[NI_MAXHOST] = "", port[NI_MAXSERV] = "";
      ::getnameinfo(reinterpret_cast<sockaddr*>(&peer_address), length, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV);
      connection->peer = fmt::format("{}:{}:{}", peer_address.ss_family == AF_INET6 ? "ipv6" : "ipv4", host, port);
    }
    connection->fd = std::move(fd);
    std::lock_guard lock(connections_mutex_);
    if (connections_.size() >= options_.max_connections) {
      host_.Refuse({Protocol::kClamd, "connect", connection->peer, ""}, Rejection::kBusy,
                   ResourceExhausted(fmt::format("{} connections open", connections_.size())));
      connection->Reply("ERROR: too many connections, retry later");
      continue;
    }
    Connection& raw = *connection;
    connections_.push_back(std::move(connection));
    raw.thread = std::thread([this, &raw] {
      Serve(raw);
      raw.fd.Reset();
      raw.finished.store(true);
    });
  }
}

namespace {

std::string_view VerbName(Verb verb) {
  switch (verb) {
    case Verb::kPing: return "PING";
    case Verb::kVersion: return "VERSION";
    case Verb::kVersionCommands: return "VERSIONCOMMANDS";
    case Verb::kStats: return "STATS";
    case Verb::kReload: return "RELOAD";
    case Verb::kShutdown: return "SHUTDOWN";
    case Verb::kInstream: return "INSTREAM";
    case Verb::kFildes: return "FILDES";
    case Verb::kIdSession: return "IDSESSION";
    case Verb::kEnd: return "END";
    case Verb::kScan: return "SCAN";
    case Verb::kContScan: return "CONTSCAN";
    case Verb::kMultiScan: return "MULTISCAN";
    case Verb::kAllMatchScan: return "ALLMATCHSCAN";
  }
  return "UNKNOWN";
}

// One clamd command's scans, over the server's ScanHost.
class CommandScans {
 public:
  CommandScans(ScanHost& host, CallInfo call) : host_(host), call_(std::move(call)), running_(host.running_calls()) {}

  // The rules snapshot and a concurrency slot for this command; the refusal's text otherwise.
  std::optional<std::string> Admit() {
    auto runner = host_.AcquireRunner(call_, std::chrono::system_clock::now() + host_.receive_idle());
    if (!runner.ok()) return std::string(runner.status().message());
    runner_ = std::move(*runner);
    // clamd queues what its threads cannot take yet; so does this, as long as it waits for bytes.
    slot_.emplace(host_, host_.receive_idle());
    if (!slot_->slot.acquired()) {
      host_.Refuse(call_, Rejection::kBusy, ResourceExhausted("busy"));
      return fmt::format("busy: {} scans in flight, retry later", host_.max_concurrent());
    }
    return std::nullopt;
  }

  StatusOr<ScanReport> Scan(const std::string& name, std::string_view content) {
    return host_.ScanUpload(call_, *runner_, {name, "", "", ""},
                            {reinterpret_cast<const uint8_t*>(content.data()), content.size()}, Clock::time_point::max());
  }

  void Refuse(Rejection rejection, const Status& status) { host_.Refuse(call_, rejection, status); }
  const CallInfo& call() const { return call_; }

 private:
  struct HeldSlot {
    HeldSlot(ScanHost& host, std::chrono::milliseconds wait) : slot(host.TakeSlot(wait)) {}
    ConcurrencySlot slot;
  };
  ScanHost& host_;
  CallInfo call_;
  RunningCall running_;
  std::shared_ptr<const ScanRunner> runner_;
  std::optional<HeldSlot> slot_;
};

}  // namespace

void ClamdListener::Serve(Connection& connection) {
  const auto idle = host_.receive_idle();
  timeval timeout{static_cast<time_t>(idle.count() / 1000), static_cast<suseconds_t>((idle.count() % 1000) * 1000)};
  ::setsockopt(connection.fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(connection.fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  bool in_session = false;
  uint64_t next_id = 1;
  for (;;) {
    std::optional<Command> command;
    while (!command) {
      auto taken = clamd::TakeCommand(connection.input);
      if (!taken.ok()) {
        host_.Refuse({Protocol::kClamd, "command", connection.peer, ""}, Rejection::kInvalidArgument, taken.status());
        if (in_session) {
          connection.session_id = next_id;
          connection.Reply(kInvalidInSession);
        } else {
          connection.framing = clamd::FramingOf(connection.input);
          connection.Reply(taken.status().message());
        }
        return;  // garbage: the client is told, then disconnected
      }
      if (*taken) {
        connection.input.erase(0, (*taken)->consumed);
        command = std::move((*taken)->command);
        break;
      }
      if (!connection.Fill()) return;
    }
    connection.framing = command->framing == Framing::kLegacy ? Framing::kNewline : command->framing;
    connection.session_id = in_session ? std::optional<uint64_t>(next_id++) : std::nullopt;
    // In a session every command is framed, and replies carry its number; some commands end one.
    if (in_session && (command->framing == Framing::kLegacy || command->verb == Verb::kIdSession ||
                       command->verb == Verb::kAllMatchScan || command->verb == Verb::kShutdown)) {
      connection.Reply(kInvalidInSession);
      return;
    }
    const CallInfo call{Protocol::kClamd, std::string(VerbName(command->verb)), connection.peer, ""};
    bool keep_open = in_session;
    switch (command->verb) {
      case Verb::kPing: connection.Reply("PONG"); break;
      case Verb::kVersion: connection.Reply(VersionText()); break;
      case Verb::kVersionCommands: connection.Reply(fmt::format("{}| {}", VersionText(), clamd::CommandList())); break;
      case Verb::kStats: connection.Reply(StatsText()); break;
      case Verb::kReload: {
        const Status reloading = host_.ReloadRules();
        connection.Reply(reloading.ok() ? "RELOADING" : clamd::ErrorLine("RELOAD", reloading.message()));
        break;
      }
      case Verb::kShutdown:
        if (!options_.allow_shutdown) {
          host_.Refuse(call, Rejection::kPermissionDenied, PermissionDenied("SHUTDOWN is not allowed"));
          connection.Reply(clamd::ErrorLine("SHUTDOWN", "not allowed: serve --clamd-allow-shutdown enables it"));
          break;
        }
        log_.Write("clamd_shutdown", {{"peer", connection.peer}});
        host_.RequestShutdown();
        return;
      case Verb::kIdSession:
        in_session = true;
        keep_open = true;
        break;
      case Verb::kEnd:
        if (!in_session) connection.Reply("UNKNOWN COMMAND");
        return;  // END gets no reply
      case Verb::kInstream: keep_open = ScanInstream(connection, call) && keep_open; break;
      case Verb::kFildes: keep_open = ScanFildes(connection, call) && keep_open; break;
      case Verb::kScan:
      case Verb::kContScan:
      case Verb::kMultiScan:
      case Verb::kAllMatchScan: ScanPath(connection, call, command->verb, command->argument); break;
    }
    if (!keep_open) return;
  }
}

}  // namespace tollgate::service

namespace tollgate::service {
namespace {

void ReplyVerdict(ClamdListener::Connection& connection, std::string_view label, const StatusOr<ScanReport>& report,
                  bool all_matches) {
  if (!report.ok()) {
    connection.Reply(clamd::ErrorLine(label, report.status().message()));
    return;
  }
  for (const std::string& line : clamd::VerdictLines(label, *report, all_matches)) connection.Reply(line);
}

uint32_t BigEndian32(std::string_view bytes) {
  return static_cast<uint32_t>(static_cast<unsigned char>(bytes[0])) << 24 |
         static_cast<uint32_t>(static_cast<unsigned char>(bytes[1])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(bytes[2])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(bytes[3]));
}

}  // namespace

std::string ClamdListener::VersionText() {
  const std::string version = host_.rules_version();
  return fmt::format("Tollgate {}/{}", TOLLGATE_VERSION, version.empty() ? "no rules loaded" : version);
}

std::string ClamdListener::StatsText() {
  const int busy = host_.scans_in_flight();
  const unsigned max = host_.max_concurrent();
  return fmt::format(
      "POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live {}  idle {} max {} idle-timeout 30\nQUEUE: {} items\n"
      "MEMSTATS: heap N/A mmap N/A used N/A free N/A releasable N/A pools 1 pools_used N/A pools_total N/A\nEND",
      busy, std::max(0, static_cast<int>(max) - busy), max, host_.scans_waiting());
}

bool ClamdListener::ScanInstream(Connection& connection, const CallInfo& call) {
  CommandScans scans(host_, call);
  if (std::optional<std::string> refused = scans.Admit()) {
    connection.Reply(clamd::ErrorLine("stream", *refused));
    return false;
  }
  const uint64_t cap = host_.max_upload_bytes();
  const auto give_up = Clock::now() + host_.max_upload_time();
  std::string content, length_bytes;
  for (;;) {
    length_bytes.clear();
    const bool received = connection.Take(4, length_bytes);
    const uint32_t length = received ? BigEndian32(length_bytes) : 0;
    if (received && length == 0) break;
    if (received && content.size() + length > cap) {
      scans.Refuse(Rejection::kTooLarge, ResourceExhausted(fmt::format("upload of at least {} bytes is over the limit of {} bytes",
                                                                       content.size() + length, cap)));
      connection.Reply("INSTREAM size limit exceeded. ERROR");
      return false;
    }
    // Never scan half an upload: a stream that stops, stalls or drags on is refused.
    if (!received || !connection.Take(length, content) || Clock::now() > give_up) {
      scans.Refuse(Rejection::kStalled,
                   Cancelled(fmt::format("the stream ended, sent nothing for {} ms or took longer than {} ms before "
                                         "its zero-length chunk",
                                         host_.receive_idle().count(), host_.max_upload_time().count())));
      connection.Reply(clamd::ErrorLine("stream", "the upload stalled, ended early or took too long"));
      return false;
    }
  }
  ReplyVerdict(connection, "stream", scans.Scan("stream", content), false);
  return true;
}

bool ClamdListener::ScanFildes(Connection& connection, const CallInfo& call) {
  while (connection.unix_socket && connection.passed.empty()) {
    if (!connection.Fill()) break;
  }
  if (connection.passed.empty()) {
    host_.Refuse(call, Rejection::kInvalidArgument, InvalidArgument("FILDES without a descriptor"));
    connection.Reply("No file descriptor received. ERROR");
    return false;
  }
  UniqueFd file = std::move(connection.passed.front());
  connection.passed.pop_front();
  // The descriptor travels with one byte of data of its own (a NUL): not a command.
  if (!connection.input.empty() && connection.input.front() == '\0') connection.input.erase(0, 1);
  const std::string label = fmt::format("fd[{}]", file.get());
  CommandScans scans(host_, call);
  if (std::optional<std::string> refused = scans.Admit()) {
    connection.Reply(clamd::ErrorLine(label, *refused));
    return true;
  }
  bool over_limit = false;
  auto content = ReadBounded(file.get(), host_.max_upload_bytes(), over_limit);
  if (!content.ok()) {
    connection.Reply(clamd::ErrorLine(label, content.status().message()));
  } else if (over_limit) {
    scans.Refuse(Rejection::kTooLarge, ResourceExhausted(fmt::format("over the limit of {} bytes", host_.max_upload_bytes())));
    connection.Reply(clamd::ErrorLine(label, fmt::format("over the upload limit of {} bytes", host_.max_upload_bytes())));
  } else {
    ReplyVerdict(connection, label, scans.Scan(label, *content), false);
  }
  return true;
}

namespace {

// Walks one path command's tree, scanning each regular file and replying as clamd does.
class PathWalk {
 public:
  PathWalk(ClamdListener::Connection& connection, CommandScans& scans, uint64_t cap, Verb verb)
      : connection_(connection), scans_(scans), cap_(cap), verb_(verb) {}

  // `fd` is the command's own path: a file gets its verdict line; a folder its FOUND and ERROR
  // lines, then "PATH: OK" when there were none.
  void Run(UniqueFd fd, const std::string& label) {
    struct stat info;
    if (::fstat(fd.get(), &info) != 0) {
      Error(label, ErrnoText(errno));
    } else if (S_ISREG(info.st_mode)) {
      ScanFile(fd.get(), label, true);
    } else if (S_ISDIR(info.st_mode)) {
      Walk(std::move(fd), label, 0);
      if (!found_ && !failed_) connection_.Reply(fmt::format("{}: OK", label));
    } else {
      Error(label, "not a regular file or folder");
    }
  }

 private:
  void Walk(UniqueFd folder, const std::string& label, int depth) {
    if (depth > kMaxFolderDepth) return Error(label, fmt::format("folders nested deeper than {}", kMaxFolderDepth));
    UniqueFd listing(::openat(folder.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR* dir = listing.valid() ? ::fdopendir(listing.get()) : nullptr;
    if (dir == nullptr) return Error(label, ErrnoText(errno));
    listing.Release();  // closedir closes it
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(dir)) {
      const std::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      if (stop_) return;
      const std::string child_label = label.ends_with('/') ? label + name : label + "/" + name;
      UniqueFd child(OpenBeneath(folder.get(), name.c_str(), O_RDONLY | O_NONBLOCK));
      if (!child.valid()) {
        // Symbolic links are never followed, and skipped as clamd skips them by default.
        if (errno != ELOOP) Error(child_label, ErrnoText(errno));
        continue;
      }
      struct stat info;
      if (::fstat(child.get(), &info) != 0) {
        Error(child_label, ErrnoText(errno));
      } else if (S_ISDIR(info.st_mode)) {
        Walk(std::move(child), child_label, depth + 1);
      } else if (S_ISREG(info.st_mode)) {
        ScanFile(child.get(), child_label, false);
      }
    }
  }

  void ScanFile(int fd, const std::string& label, bool alone) {
    bool over_limit = false;
    auto content = ReadBounded(fd, cap_, over_limit);
    if (!content.ok()) return Error(label, content.status().message());
    if (over_limit) {
      scans_.Refuse(Rejection::kTooLarge, ResourceExhausted(fmt::format("{} is over the limit of {} bytes", label, cap_)));
      return Error(label, fmt::format("over the upload limit of {} bytes", cap_));
    }
    auto report = scans_.Scan(label, *content);
    if (!report.ok()) return Error(label, report.status().message());
    if (report->action == Action::kAllow) {
      if (alone) connection_.Reply(fmt::format("{}: OK", label));
      return;
    }
    found_ = true;
    for (const std::string& line : clamd::VerdictLines(label, *report, verb_ == Verb::kAllMatchScan)) {
      connection_.Reply(line);
    }
    // SCAN and ALLMATCHSCAN stop at the first file found, as clamd's do.
    if (verb_ == Verb::kScan || verb_ == Verb::kAllMatchScan) stop_ = true;
  }

  void Error(const std::string& label, std::string_view message) {
    failed_ = true;
    connection_.Reply(clamd::ErrorLine(label, message));
  }

  ClamdListener::Connection& connection_;
  CommandScans& scans_;
  uint64_t cap_;
  Verb verb_;
  bool found_ = false, failed_ = false, stop_ = false;
};

}  // namespace

void ClamdListener::ScanPath(Connection& connection, const CallInfo& call, Verb verb, const std::string& path) {
  auto refuse = [&](std::string_view why) {
    host_.Refuse(call, Rejection::kPermissionDenied, PermissionDenied(fmt::format("{}: {}", path, why)));
    connection.Reply(clamd::ErrorLine(path, why));
  };
  if (roots_->roots.empty()) return refuse("path commands are off: serve --clamd-scan-root DIR allows a folder");
  const std::optional<std::string> normal = path.starts_with('/') ? NormalRelative(path) : std::nullopt;
  if (!normal) return refuse("not scanned: give an absolute path without ..");
  const Roots::Root* root = nullptr;
  std::string below;
  for (const Roots::Root& candidate : roots_->roots) {
    const std::string_view root_path = std::string_view(candidate.path).substr(1);
    if (root_path.empty() || *normal == root_path) {
      root = &candidate;
      below = root_path.empty() ? *normal : "";
      break;
    }
    if (normal->starts_with(root_path) && (*normal)[root_path.size()] == '/') {
      root = &candidate;
      below = normal->substr(root_path.size() + 1);
      break;
    }
  }
  if (root == nullptr) return refuse("outside every --clamd-scan-root: not scanned");
  UniqueFd target(OpenBeneath(root->fd.get(), below.empty() ? "." : below.c_str(), O_RDONLY | O_NONBLOCK));
  if (!target.valid()) {
    if (errno == ELOOP || errno == EXDEV) return refuse("a symbolic link is on the way: not followed");
    host_.Refuse(call, Rejection::kInvalidArgument, NotFound(fmt::format("{}: {}", path, ErrnoText(errno))));
    return connection.Reply(clamd::ErrorLine(path, fmt::format("File path check failure: {}", ErrnoText(errno))));
  }
  CommandScans scans(host_, call);
  if (std::optional<std::string> refused = scans.Admit()) return connection.Reply(clamd::ErrorLine(path, *refused));
  PathWalk(connection, scans, host_.max_upload_bytes(), verb).Run(std::move(target), path);
}

}  // namespace tollgate::service
