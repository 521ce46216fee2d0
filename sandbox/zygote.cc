#include "zygote.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <tbb/global_control.h>
#include <nlohmann/json.hpp>

#include "options_codec.h"
#include "tollgate/sandbox/worker_pool.h"

namespace tollgate::sandbox {
namespace {

// The fork server's end of its channel.
constexpr int kForkServerFd = 3;

Status Errno(const std::string& what) { return Unavailable(what + ": " + std::strerror(errno)); }

// How a sandbox process ends when the process that started it is gone.
enum class Lifetime {
  kDiesWithParent,  // PR_SET_PDEATHSIG: for a parent with one thread
  // PR_SET_PDEATHSIG fires when the *thread* that forked the process ends, and a lost fork server is
  // replaced from whichever server thread noticed (a pool's supervisor, which ends with its rules
  // version). The fork server ends when its channel closes instead: the kernel closes the server's
  // end however the server exits, and no other process holds it.
  kEndsWithChannel,
};

// Named in ps and top; tests find workers by name too.
void Become(const char* name, pid_t parent, Lifetime lifetime) {
  prctl(PR_SET_NAME, name);
  if (lifetime == Lifetime::kDiesWithParent && prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) _exit(kExitSetupFailed);
  if (getppid() != parent) _exit(kExitSetupFailed);  // the parent died before this ran
}

void Reply(int channel, const nlohmann::json& answer) {
  if (!SendFrame(channel, answer.dump())) _exit(0);  // the server is gone
}

// Builds one rules version's Scanner, then forks its workers and reaps them on request, from its one
// thread, until the server closes the channel.
[[noreturn]] void ZygoteMain(int channel, const std::string& request, pid_t fork_server) {
  Become("tollgate-zygote", fork_server, Lifetime::kDiesWithParent);
  signal(SIGCHLD, SIG_DFL);  // the fork server ignores it; the zygote reaps its workers
  // No TBB thread may exist when a worker is forked: the child would believe in threads it does not
  // have. So the zygote builds its Scanner on this thread alone; each worker lifts the limit.
  std::optional<tbb::global_control> serial(std::in_place, tbb::global_control::max_allowed_parallelism, 1);
  auto decoded = DecodeZygoteRequest(request);
  if (!decoded.ok()) {
    Reply(channel, {{"error", decoded.status().message()}});
    _exit(kExitSetupFailed);
  }
  const auto& [options, limits] = *decoded;
  auto created = Scanner::Create(options);
  if (!created.ok()) {
    Reply(channel, {{"error", created.status().message()}, {"code", static_cast<int>(created.status().code())}});
    _exit(kExitSetupFailed);
  }
  const std::unique_ptr<Scanner> scanner = std::move(*created);
  const pid_t self = getpid();
  nlohmann::json engines = nlohmann::json::array();
  for (const EngineInfo& engine : scanner->engines()) engines.push_back({engine.name, engine.rule_count});
  Reply(channel, {{"pid", self}, {"engines", std::move(engines)}});
  std::string payload;
  for (UniqueFd fd; ReceiveFrame(channel, payload, fd);) {
    const nlohmann::json order = nlohmann::json::parse(payload, nullptr, false);
    if (order.is_object() && order.contains("reap") && order["reap"].is_number_integer()) {
      int status = 0;
      pid_t reaped;
      do reaped = waitpid(order["reap"].get<pid_t>(), &status, 0);
      while (reaped < 0 && errno == EINTR);
      Reply(channel, reaped < 0 ? nlohmann::json{{"error", std::string("waitpid: ") + std::strerror(errno)}}
                                : nlohmann::json{{"status", status}});
    } else if (fd.get() >= 0) {
      const pid_t pid = fork();
      if (pid == 0) {
        serial.reset();
        WorkerMain(*scanner, fd.get(), self, limits);
      }
      // Only the worker may hold its end, or the pool would not see it close when the worker dies.
      fd.reset();
      Reply(channel, pid < 0 ? nlohmann::json{{"error", std::string("fork: ") + std::strerror(errno)}}
                             : nlohmann::json{{"pid", pid}});
    } else {
      Reply(channel, {{"error", "unknown request"}});
    }
  }
  // _exit: the Scanner's engines need no orderly teardown, and no atexit handler of the server runs.
  _exit(0);
}

// Forks a zygote for each request until the server closes the channel.
[[noreturn]] void ForkServerMain(pid_t server) {
  Become("tollgate-forks", server, Lifetime::kEndsWithChannel);
  signal(SIGCHLD, SIG_IGN);  // zygotes are reaped by the kernel
  std::string request;
  for (UniqueFd zygote_channel; ReceiveFrame(kForkServerFd, request, zygote_channel);) {
    if (zygote_channel.get() < 0) continue;
    if (const pid_t self = getpid(); fork() == 0) {
      close(kForkServerFd);
      ZygoteMain(zygote_channel.get(), request, self);
    }
    // A failed fork closes the zygote's channel unanswered: Zygote::Start reports it.
  }
  _exit(0);
}

std::mutex fork_server_mutex;
UniqueFd fork_server_channel;  // guarded by fork_server_mutex, like fork_server_pid
pid_t fork_server_pid = -1;
// Set by RunForkServerIfAsked: main() starts a fork server when asked, so one can be executed.
std::atomic<bool> can_execute_fork_server{false};
constexpr std::string_view kForkServerFlag = "--tollgate-sandbox-fork-server=";

// Gives the fork server's end of a new channel to `child_end`'s process as fd 3, stdin and stdout
// /dev/null and nothing else (the server's sockets and files are no business of a parser; stderr
// stays for messages); in a forked child, before it becomes the fork server or executes one. Only
// async-signal-safe calls: the parent may have had threads.
void ArrangeForkServerFds(int child_end) {
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (dup2(child_end, kForkServerFd) != kForkServerFd || null < 0 || dup2(null, STDIN_FILENO) < 0 ||
      dup2(null, STDOUT_FILENO) < 0 || close_range(kForkServerFd + 1, ~0u, 0) != 0) {
    _exit(kExitSetupFailed);
  }
}

// Forks the fork server's process with a new channel: in the child, `become` runs with the channel
// as fd 3 and never returns; the parent keeps the other end. Called with fork_server_mutex held.
template <typename Become>
Status ForkForkServer(const char* what, Become become) {
  int ends[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) return Errno("socketpair");
  const pid_t pid = fork();
  if (pid < 0) {
    close(ends[0]);
    close(ends[1]);
    return Errno(what);
  }
  if (pid == 0) {
    ArrangeForkServerFds(ends[1]);
    become();
  }
  close(ends[1]);
  fork_server_channel = UniqueFd(ends[0]);
  fork_server_pid = pid;
  return Status();
}

// Replaces a lost fork server with a fresh execution of this program (the server has threads now:
// forking it would copy their locks). Called with fork_server_mutex held.
Status ExecuteForkServer() {
  fork_server_channel.reset();
  if (fork_server_pid > 0) {  // reaped, not left a zombie
    ::kill(fork_server_pid, SIGKILL);
    while (waitpid(fork_server_pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    fork_server_pid = -1;
  }
  if (!can_execute_fork_server.load()) {
    return Unavailable("the sandbox's fork server has exited and this program cannot start another; restart Tollgate");
  }
  // Everything the child needs is made before fork(): it may only make async-signal-safe calls.
  const std::string name = "tollgate-forks";
  const std::string flag = std::string(kForkServerFlag) + std::to_string(getpid());
  char* const argv[] = {const_cast<char*>(name.c_str()), const_cast<char*>(flag.c_str()), nullptr};
  return ForkForkServer("fork a new fork server", [&argv] {
    execv("/proc/self/exe", argv);
    _exit(kExitSetupFailed);
  });
}

}  // namespace

void RunForkServerIfAsked(int argc, char** argv) {
  can_execute_fork_server.store(true);
  if (argc != 2 || !std::string_view(argv[1]).starts_with(kForkServerFlag)) return;
  const std::string_view server = std::string_view(argv[1]).substr(kForkServerFlag.size());
  pid_t pid = 0;
  if (std::from_chars(server.data(), server.data() + server.size(), pid).ec != std::errc()) _exit(kExitSetupFailed);
  ForkServerMain(pid);
}

Status StartForkServer() {
  std::lock_guard lock(fork_server_mutex);
  if (fork_server_channel.get() >= 0) return Status();
  const pid_t server = getpid();
  return ForkForkServer("fork the sandbox's fork server", [server] { ForkServerMain(server); });
}

StatusOr<std::unique_ptr<Zygote>> Zygote::Start(const ScannerOptions& options, const WorkerLimits& limits) {
  if (Status started = StartForkServer(); !started.ok()) return started;
  int ends[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) return Errno("socketpair");
  UniqueFd ours(ends[0]), theirs(ends[1]);
  {
    std::lock_guard lock(fork_server_mutex);
    const std::string request = EncodeZygoteRequest(options, limits);
    if (!SendFrame(fork_server_channel.get(), request, theirs.get())) {
      // The fork server is gone (the OOM killer, an operator): a new one, then the request again.
      if (Status restarted = ExecuteForkServer(); !restarted.ok()) return restarted;
      if (!SendFrame(fork_server_channel.get(), request, theirs.get())) {
        return Unavailable("the sandbox's new fork server did not take the request");
      }
    }
  }
  theirs.reset();
  std::unique_ptr<Zygote> zygote(new Zygote(std::move(ours)));
  auto built = zygote->Call("", -1);
  if (!built.ok()) return built.status();
  try {
    const nlohmann::json reply = nlohmann::json::parse(*built);
    for (const nlohmann::json& engine : reply.at("engines")) {
      zygote->engines_.push_back({engine.at(0).get<std::string>(), engine.at(1).get<size_t>()});
    }
  } catch (const nlohmann::json::exception& error) {
    return Internal(std::string("unexpected answer from the sandbox's zygote: ") + error.what());
  }
  return zygote;
}

StatusOr<pid_t> Zygote::Fork(int job_socket) {
  auto pid = Ask("{}", job_socket, "pid");
  if (!pid.ok()) return pid.status();
  return static_cast<pid_t>(*pid);
}

StatusOr<int> Zygote::Reap(pid_t pid) {
  auto status = Ask(nlohmann::json{{"reap", pid}}.dump(), -1, "status");
  if (!status.ok()) return status.status();
  return static_cast<int>(*status);
}

StatusOr<std::string> Zygote::Call(const std::string& request, int fd) {
  std::lock_guard lock(mutex_);
  if (!request.empty() && !SendFrame(channel_.get(), request, fd)) return Unavailable("the sandbox's zygote has exited");
  std::string payload;
  UniqueFd unexpected;
  if (!ReceiveFrame(channel_.get(), payload, unexpected)) return Unavailable("the sandbox's zygote exited");
  const nlohmann::json reply = nlohmann::json::parse(payload, nullptr, false);
  if (reply.is_object() && reply.contains("error") && reply["error"].is_string()) {
    // A Scanner that could not be built says why with its own code (rules that do not compile are
    // the caller's error, not the sandbox's).
    const auto code = reply.contains("code") && reply["code"].is_number_integer()
                          ? static_cast<StatusCode>(reply["code"].get<int>())
                          : StatusCode::kUnavailable;
    return Status(code == StatusCode::kOk ? StatusCode::kUnavailable : code, reply["error"].get<std::string>());
  }
  return payload;
}

// The number under `answer` in the zygote's reply to `request`.
StatusOr<int64_t> Zygote::Ask(const std::string& request, int fd, const char* answer) {
  auto payload = Call(request, fd);
  if (!payload.ok()) return payload.status();
  const nlohmann::json reply = nlohmann::json::parse(*payload, nullptr, false);
  if (reply.is_object() && reply.contains(answer) && reply[answer].is_number_integer()) return reply[answer].get<int64_t>();
  return Internal("unexpected answer from the sandbox's zygote: " + *payload);
}

}  // namespace tollgate::sandbox
