// Helpers for the gRPC service tests: test certificates made with the openssl command, a real
// `tollgate serve` child process, a plain HTTP GET, and corpus expectations.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "test_support.h"

namespace tollgate::testing {

// A CA, a server certificate for 127.0.0.1/localhost and a client certificate (CN upload-service)
// signed by it, and a client certificate from an unrelated CA (CN intruder). EC keys: fast to make.
struct TestCertificates {
  std::filesystem::path ca, server_cert, server_key, client_cert, client_key, rogue_ca, rogue_cert, rogue_key;
};

inline bool MakeCertificates(const std::filesystem::path& dir, TestCertificates& out) {
  const std::string d = dir.string();
  const std::string openssl = TOLLGATE_OPENSSL_COMMAND;
  const std::string quiet = " >/dev/null 2>&1";
  auto key = [&](const std::string& name) {
    return RunCommand(openssl + " genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + d + "/" + name + ".key" +
                      quiet)
               .exit_code == 0;
  };
  auto ca = [&](const std::string& name, const std::string& cn) {
    return key(name) && RunCommand(openssl + " req -x509 -new -key " + d + "/" + name + ".key -subj /CN=" + cn +
                                   " -days 2 -out " + d + "/" + name + ".pem" + quiet)
                                .exit_code == 0;
  };
  auto leaf = [&](const std::string& name, const std::string& cn, const std::string& issuer, const std::string& ext) {
    WriteFile(dir / (name + ".ext"), ext);
    return key(name) &&
           RunCommand(openssl + " req -new -key " + d + "/" + name + ".key -subj /CN=" + cn + " -out " + d + "/" + name +
                      ".csr" + quiet)
                   .exit_code == 0 &&
           RunCommand(openssl + " x509 -req -in " + d + "/" + name + ".csr -CA " + d + "/" + issuer + ".pem -CAkey " + d +
                      "/" + issuer + ".key -CAcreateserial -days 2 -extfile " + d + "/" + name + ".ext -out " + d +
                      "/" + name + ".pem" + quiet)
                   .exit_code == 0;
  };
  const bool ok = ca("ca", "tollgate-test-ca") && ca("rogue-ca", "rogue-ca") &&
                  leaf("server", "localhost", "ca",
                       "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n") &&
                  leaf("client", "upload-service", "ca", "extendedKeyUsage=clientAuth\n") &&
                  leaf("rogue", "intruder", "rogue-ca", "extendedKeyUsage=clientAuth\n");
  out = {dir / "ca.pem",     dir / "server.pem",   dir / "server.key", dir / "client.pem",
         dir / "client.key", dir / "rogue-ca.pem", dir / "rogue.pem",  dir / "rogue.key"};
  return ok;
}

// GET http://127.0.0.1:port/path with HTTP/1.0; the whole response, headers included.
inline std::string HttpGet(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buffer[8192];
      ssize_t n;
      while ((n = ::read(fd, buffer, sizeof buffer)) > 0) response.append(buffer, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return response;
}

// `tollgate serve ARGS` as a child process. Its stderr (the JSON log) is collected line by line.
class ServeProcess {
 public:
  explicit ServeProcess(const std::vector<std::string>& args) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return;
    std::vector<std::string> argv_strings = {TOLLGATE_EXECUTABLE, "serve"};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_strings) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(pipe_fds[1], STDERR_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(pipe_fds[1]);
    reader_ = std::thread([this, fd = pipe_fds[0]] {
      std::string pending;
      char buffer[4096];
      ssize_t n;
      while ((n = ::read(fd, buffer, sizeof buffer)) > 0) {
        std::lock_guard lock(mutex_);
        pending.append(buffer, static_cast<size_t>(n));
        for (size_t newline; (newline = pending.find('\n')) != std::string::npos;) {
          lines_.push_back(pending.substr(0, newline));
          pending.erase(0, newline + 1);
        }
        changed_.notify_all();
      }
      ::close(fd);
      std::lock_guard lock(mutex_);
      if (!pending.empty()) lines_.push_back(pending);
      closed_ = true;
      changed_.notify_all();
    });
  }

  ~ServeProcess() {
    if (pid_ > 0 && !exit_code_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (reader_.joinable()) reader_.join();
  }

  // The first log line with this `event`, waiting up to `timeout`.
  std::optional<nlohmann::json> WaitForEvent(const std::string& event,
                                             std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::unique_lock lock(mutex_);
    std::optional<nlohmann::json> found;
    changed_.wait_for(lock, timeout, [&] {
      for (const std::string& line : lines_) {
        const auto json = nlohmann::json::parse(line, nullptr, false);
        if (!json.is_discarded() && json.is_object() && json.value("event", "") == event) {
          found = json;
          return true;
        }
      }
      return closed_;
    });
    return found;
  }

  // The port from the "listening" event, or 0.
  int port() {
    const auto listening = WaitForEvent("listening");
    return listening ? listening->at("port").get<int>() : 0;
  }

  void Signal(int signal) { ::kill(pid_, signal); }
  pid_t pid() const { return pid_; }

  // The exit code, or nullopt if the process is still running after `timeout` (or died by a signal).
  std::optional<int> WaitExit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!exit_code_ && std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (exit_code_) {
      // Everything the process wrote is read before anyone looks at the log.
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, std::chrono::seconds(5), [this] { return closed_; });
    }
    return exit_code_;
  }

  std::string Log() {
    std::lock_guard lock(mutex_);
    std::string all;
    for (const std::string& line : lines_) all += line + "\n";
    return all;
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  bool closed_ = false;
};

// The descendants of `pid` (a server) named `name`: "tollgate-forks" (the sandbox's fork server),
// "tollgate-zygote", "tollgate-worker".
inline std::set<pid_t> DescendantsNamed(pid_t pid, const std::string& process_name) {
  std::set<pid_t> found;
  std::vector<pid_t> pending = {pid};
  while (!pending.empty()) {
    const pid_t parent = pending.back();
    pending.pop_back();
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(parent) + "/task", ec)) {
      std::ifstream list(task.path() / "children");
      for (pid_t child; list >> child;) {
        pending.push_back(child);
        std::ifstream comm("/proc/" + std::to_string(child) + "/comm");
        std::string name;
        if (std::getline(comm, name) && name == process_name) found.insert(child);
      }
    }
  }
  return found;
}

// The sandboxed workers of a server: forked by its fork server's zygotes.
inline std::set<pid_t> WorkersOf(pid_t pid) { return DescendantsNamed(pid, "tollgate-worker"); }

inline nlohmann::json CorpusExpectations() {
  return nlohmann::json::parse(ReadFile(std::filesystem::path(TOLLGATE_SOURCE_DIR) / "corpus" / "expectations.json"));
}

using FindingKey = std::tuple<std::string, std::string, std::string>;  // engine, rule, object

inline std::multiset<FindingKey> ExpectedFindingKeys(const nlohmann::json& expected) {
  std::multiset<FindingKey> keys;
  for (const auto& f : expected.at("findings")) keys.emplace(f[0], f[1], f[2]);
  return keys;
}

// A gzipped TAR of `members` text files of `member_bytes` each, written by Python's tarfile. It is
// small, yet slow to scan: libclamav walks the members one by one and Tollgate checks the deadline
// before each, so a scan cut short stops soon after its deadline.
inline bool MakeTarGz(const std::filesystem::path& path, int members, int member_bytes) {
  return RunCommand("/usr/bin/python3 -c \"import io,sys,tarfile\n"
                    "with tarfile.open(sys.argv[1],'w:gz') as t:\n"
                    " for i in range(" + std::to_string(members) + "):\n"
                    "  line=b'invoice %d for november\\n' % i\n"
                    "  data=(line * " + std::to_string(member_bytes) + ")[:" + std::to_string(member_bytes) + "]\n"
                    "  info=tarfile.TarInfo('f%d.txt' % i)\n"
                    "  info.size=len(data)\n"
                    "  t.addfile(info, io.BytesIO(data))\" " + path.string())
             .exit_code == 0;
}

}  // namespace tollgate::testing
