// The clamd front end's edges that real clients never produce (tests/clamd_clients_test.py drives
// the real ones): garbage, stalls, uploads over the limit, a full server, refused commands. A real
// ScanServer with the real engines listens on a unix socket in a temp folder; the test speaks the
// protocol's bytes over it.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <future>
#include <random>

#include "scan_server.h"
#include "test_support.h"

namespace tollgate::testing {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using service::ScanServer;
using service::ServerOptions;

// A 'z' command or reply: NUL-terminated.
std::string Z(std::string text) { return text + '\0'; }

std::string Chunk(std::string_view data) {
  const auto size = static_cast<uint32_t>(data.size());
  std::string out{static_cast<char>(size >> 24), static_cast<char>(size >> 16), static_cast<char>(size >> 8),
                  static_cast<char>(size)};
  return out + std::string(data);
}

class ClamdTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options = {}) {
    options.listen = "none";
    options.clamd.listen = {"unix:" + Socket()};
    options.log = std::tmpfile();
    log_ = options.log;
    auto server = ScanServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    auto scanner = Scanner::Create(ScannerOptions{});
    ASSERT_TRUE(scanner.ok()) << scanner.status().ToString();
    server_->SetScanner(tollgate::InProcessRunner(std::move(*scanner)), 0.25s);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    if (log_) std::fclose(log_);
  }

  std::string Socket() const { return (dir_.path() / "clamd.sock").string(); }

  int Connect() const {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", Socket().c_str());
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    timeval timeout{20, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return fd;
  }

  // Sends `request` (then, unless `keep_writing`, ends the sending side) and reads until the server
  // closes the connection.
  std::string Talk(std::string_view request, bool keep_writing = false) const {
    const int fd = Connect();
    EXPECT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
    if (!keep_writing) ::shutdown(fd, SHUT_WR);
    return ReadToEndAndClose(fd);
  }

  // Everything the server sends on `fd` until it closes the connection.
  static std::string ReadToEndAndClose(int fd) {
    std::string reply;
    char buffer[4096];
    for (ssize_t got; (got = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) reply.append(buffer, static_cast<size_t>(got));
    ::close(fd);
    return reply;
  }

  // Waits (at most 10 s) until the server counts `count` scans receiving or scanning.
  void WaitForScansInFlight(int count) const {
    const std::string line = "\ntollgate_scans_in_flight " + std::to_string(count) + "\n";
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (Metrics().find(line) == std::string::npos && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(10ms);
    }
    ASSERT_NE(Metrics().find(line), std::string::npos) << Metrics();
  }

  // One scan slot and a short receive-idle time, for the tests of a full server.
  void StartWithOneSlot(std::chrono::milliseconds receive_idle = 500ms) {
    ServerOptions options;
    options.max_concurrent = 1;
    options.receive_idle = receive_idle;
    Start(options);
  }

  std::string Metrics() const { return server_->MetricsText(); }

  TempDir dir_;
  std::FILE* log_ = nullptr;
  std::unique_ptr<ScanServer> server_;
};

TEST_F(ClamdTest, EveryCommandIsAnsweredInTheFramingItCameIn) {
  ServerOptions options;
  options.max_concurrent = 3;
  Start(options);
  const std::string eicar_stream = Chunk(kEicar) + Chunk("");
  for (const auto& [prefix, end] : {std::pair{"z"s, "\0"s}, std::pair{"n"s, "\n"s}, std::pair{""s, "\n"s}}) {
    SCOPED_TRACE("prefix '" + prefix + "'");
    EXPECT_EQ(Talk(prefix + "PING" + end), "PONG" + end);
    const std::string version = Talk(prefix + "VERSION" + end);
    EXPECT_TRUE(version.starts_with("Tollgate ") && version.ends_with(end)) << version;
    EXPECT_EQ(std::count(version.begin(), version.end(), end[0]), 1) << version;
    EXPECT_EQ(Talk(prefix + "VERSIONCOMMANDS" + end),
              version.substr(0, version.size() - 1) +
                  "| COMMANDS: SCAN RELOAD PING CONTSCAN VERSIONCOMMANDS VERSION END SHUTDOWN MULTISCAN FILDES "
                  "STATS IDSESSION INSTREAM ALLMATCHSCAN" + end);
    const std::string stats = Talk(prefix + "STATS" + end);
    EXPECT_TRUE(stats.starts_with("POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 0  idle 3 max 3 ")) << stats;
    EXPECT_TRUE(stats.ends_with("\nEND" + end)) << stats;
    EXPECT_EQ(Talk(prefix + "INSTREAM" + end + eicar_stream), "stream: Tollgate.Test.EICAR.UNOFFICIAL FOUND" + end);
    EXPECT_EQ(Talk(prefix + "INSTREAM" + end + Chunk("plain words") + Chunk("")), "stream: OK" + end);
    EXPECT_EQ(Talk(prefix + "RELOAD" + end),
              "RELOAD: this server has no rules store to reload (serve --rules-store). ERROR" + end);
    EXPECT_EQ(Talk(prefix + "SHUTDOWN" + end), "SHUTDOWN: not allowed: serve --clamd-allow-shutdown enables it. ERROR" + end);
    EXPECT_EQ(Talk(prefix + "FILDES" + end), "No file descriptor received. ERROR" + end);
    EXPECT_EQ(Talk(prefix + "END" + end), "UNKNOWN COMMAND" + end);
  }
}

TEST_F(ClamdTest, ASessionNumbersItsRepliesInEitherFraming) {
  Start();
  const std::string eicar_stream = Chunk(kEicar) + Chunk("");
  EXPECT_EQ(Talk("zIDSESSION\0zPING\0zINSTREAM\0"s + eicar_stream + "zINSTREAM\0"s + Chunk("hello") + Chunk("") +
                 "zEND\0"s),
            "1: PONG\0" "2: stream: Tollgate.Test.EICAR.UNOFFICIAL FOUND\0" "3: stream: OK\0"s);
  EXPECT_EQ(Talk("nIDSESSION\nnPING\nnINSTREAM\n"s + eicar_stream + "nEND\n"),
            "1: PONG\n2: stream: Tollgate.Test.EICAR.UNOFFICIAL FOUND\n");
  // A legacy command or a second IDSESSION has no place in a session: an error, then disconnected.
  // Each reply is framed as its command came, so the legacy one's error ends with a newline.
  EXPECT_EQ(Talk("zIDSESSION\0zPING\0PING\n"s), "1: PONG\0" "2: Command invalid inside IDSESSION. ERROR\n"s);
  EXPECT_EQ(Talk("zIDSESSION\0zIDSESSION\0zPING\0"s), "1: Command invalid inside IDSESSION. ERROR\0"s);
}

TEST_F(ClamdTest, AClientGoneMidStreamIsNeverScannedAndTheServerGoesOn) {
  Start();
  EXPECT_EQ(Talk("zINSTREAM\0"s + Chunk(kEicar).substr(0, 20)), "stream: the upload stalled, ended early or took too long. ERROR\0"s);
  const int gone = Connect();
  const std::string half = "zINSTREAM\0"s + Chunk(kEicar).substr(0, 12);
  ASSERT_EQ(::send(gone, half.data(), half.size(), MSG_NOSIGNAL), static_cast<ssize_t>(half.size()));
  ::close(gone);
  EXPECT_EQ(Talk("zPING\0"s), "PONG\0"s);
  // The server notices the closed connection on its own thread.
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (Metrics().find("tollgate_rejected_total{reason=\"stalled\"} 2\n") == std::string::npos &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(20ms);
  }
  const std::string metrics = Metrics();
  EXPECT_NE(metrics.find("tollgate_rejected_total{reason=\"stalled\"} 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("tollgate_scans_by_protocol_total{protocol=\"clamd\"} 0\n"), std::string::npos) << metrics;
}

TEST_F(ClamdTest, FildesScansTheDescriptorPassedOverTheSocket) {
  Start();
  TempDir files;
  WriteFile(files.path() / "eicar.txt", kEicar);
  const int file = ::open((files.path() / "eicar.txt").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(file, 0);
  const int fd = Connect();
  const std::string command = "zFILDES\0"s;
  ASSERT_EQ(::send(fd, command.data(), command.size(), MSG_NOSIGNAL), static_cast<ssize_t>(command.size()));
  // clamdscan --fdpass sends the descriptor with one byte of data.
  char data = '\0';
  iovec io{&data, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &file, sizeof(int));
  ASSERT_EQ(::sendmsg(fd, &message, MSG_NOSIGNAL), 1);
  ::close(file);
  ::shutdown(fd, SHUT_WR);
  const std::string reply = ReadToEndAndClose(fd);
  EXPECT_TRUE(reply.starts_with("fd[")) << reply;
  EXPECT_TRUE(reply.ends_with("]: Tollgate.Test.EICAR.UNOFFICIAL FOUND\0"s)) << reply;
}

// Bytes that start with no command's letter are never taken for one: each of a thousand random
// inputs is answered UNKNOWN COMMAND and disconnected, and the server goes on.
TEST_F(ClamdTest, AThousandGarbageInputsAreEachRefusedAndTheServerGoesOn) {
  Start();
  std::mt19937 random(20261204);
  constexpr int kInputs = 1000;
  for (int i = 0; i < kInputs; ++i) {
    std::string garbage(1 + random() % 300, '\0');
    for (char& byte : garbage) byte = static_cast<char>(random());
    while (garbage[0] == 'z' || garbage[0] == 'n' || (garbage[0] >= 'A' && garbage[0] <= 'Z')) {
      garbage[0] = static_cast<char>(random());
    }
    ASSERT_EQ(Talk(garbage), "UNKNOWN COMMAND\n") << "input " << i;
  }
  EXPECT_EQ(Talk("zPING\0"s), "PONG\0"s);
  EXPECT_NE(Metrics().find(fmt::format("tollgate_rejected_by_protocol_total{{protocol=\"clamd\"}} {}\n", kInputs)),
            std::string::npos);
}

TEST_F(ClamdTest, GarbageIsAnsweredThenDisconnectedAndTheServerGoesOn) {
  Start();
  EXPECT_EQ(Talk("\xff\xfe\x00garbage"s), "UNKNOWN COMMAND\n");
  EXPECT_EQ(Talk("zFOO\0"s), "UNKNOWN COMMAND\0"s);
  EXPECT_EQ(Talk("zIDSESSION\0zPING\0zBOGUS\0zPING\0zEND\0"s), "1: PONG\0002: Command invalid inside IDSESSION. ERROR\0"s);
  EXPECT_EQ(Talk(std::string(8192, 'z')), "COMMAND READ TIMED OUT\0"s);
  EXPECT_EQ(Talk("zPING\0"s), "PONG\0"s);
  EXPECT_NE(Metrics().find("tollgate_rejected_by_protocol_total{protocol=\"clamd\"} 4\n"), std::string::npos) << Metrics();
}

TEST_F(ClamdTest, AnUploadOverTheLimitIsRefusedAsClamdRefusesIt) {
  ServerOptions options;
  options.max_upload_bytes = 1 << 20;
  Start(options);
  EXPECT_EQ(Talk("zINSTREAM\0"s + Chunk(std::string(1 << 20, 'a')) + Chunk("b") + Chunk("")),
            "INSTREAM size limit exceeded. ERROR\0"s);
  EXPECT_EQ(Talk("zINSTREAM\0"s + Chunk(std::string(1 << 20, 'a')) + Chunk("")), "stream: OK\0"s);
  EXPECT_EQ(Talk("zINSTREAM\0"s + Chunk(kEicar) + Chunk("")), "stream: Tollgate.Test.EICAR.UNOFFICIAL FOUND\0"s);
  const std::string metrics = Metrics();
  EXPECT_NE(metrics.find("tollgate_rejected_total{reason=\"too_large\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("tollgate_scans_by_protocol_total{protocol=\"clamd\"} 2\n"), std::string::npos) << metrics;
}

TEST_F(ClamdTest, AStalledUploadLosesItsSlotToAWaitingScanAndIsNeverScanned) {
  StartWithOneSlot();
  const int stalled = Connect();
  const std::string half = "zINSTREAM\0"s + Chunk("partial").substr(0, 6);
  ASSERT_EQ(::send(stalled, half.data(), half.size(), MSG_NOSIGNAL), static_cast<ssize_t>(half.size()));
  WaitForScansInFlight(1);
  std::this_thread::sleep_for(300ms);
  // Its one slot is taken: the next scan waits for it, as clamd queues, and gets it when the
  // stalled upload is dropped, 200 ms later (it would wait up to 500 ms).
  auto waiting = std::async(std::launch::async, [&] { return Talk("zINSTREAM\0"s + Chunk(kEicar) + Chunk("")); });
  EXPECT_EQ(ReadToEndAndClose(stalled), "stream: the upload stalled, ended early or took too long. ERROR\0"s);
  EXPECT_EQ(waiting.get(), "stream: Tollgate.Test.EICAR.UNOFFICIAL FOUND\0"s);
  const std::string metrics = Metrics();
  EXPECT_NE(metrics.find("tollgate_rejected_total{reason=\"stalled\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("tollgate_scans_by_protocol_total{protocol=\"clamd\"} 1\n"), std::string::npos) << metrics;
}

TEST_F(ClamdTest, AScanWaitsForASlotAtMostTheReceiveIdleTimeThenIsBusy) {
  StartWithOneSlot(1000ms);
  // An upload that trickles a byte every 100 ms is never idle and holds the one slot throughout.
  const int trickling = Connect();
  const std::string upload = "zINSTREAM\0"s + Chunk("0123456789abcdef") + Chunk("");
  ASSERT_EQ(::send(trickling, upload.data(), 10, MSG_NOSIGNAL), 10);
  WaitForScansInFlight(1);
  auto waiting = std::async(std::launch::async, [&] {
    const auto from = std::chrono::steady_clock::now();
    std::string reply = Talk("zINSTREAM\0"s + Chunk("x") + Chunk(""));
    return std::pair{reply, std::chrono::steady_clock::now() - from};
  });
  // STATS shows the waiting command as clamd's queue.
  std::string stats;
  for (int i = 0; i < 40 && stats.find("QUEUE: 1 items\n") == std::string::npos; ++i) {
    std::this_thread::sleep_for(10ms);
    stats = Talk("zSTATS\0"s);
  }
  EXPECT_NE(stats.find("THREADS: live 1  idle 0 max 1 idle-timeout 30\nQUEUE: 1 items\n"), std::string::npos) << stats;
  for (size_t sent = 10; sent < upload.size(); ++sent) {
    std::this_thread::sleep_for(100ms);
    ASSERT_EQ(::send(trickling, upload.data() + sent, 1, MSG_NOSIGNAL), 1);
  }
  const auto [reply, waited] = waiting.get();
  EXPECT_EQ(reply, "stream: busy: 1 scans in flight, retry later. ERROR\0"s);
  EXPECT_GE(waited, 1000ms);
  EXPECT_LT(waited, 2s);
  ::shutdown(trickling, SHUT_WR);
  EXPECT_EQ(ReadToEndAndClose(trickling), "stream: OK\0"s);
  EXPECT_NE(Metrics().find("tollgate_rejected_total{reason=\"busy\"} 1\n"), std::string::npos) << Metrics();
}

TEST_F(ClamdTest, ShutdownReloadAndPathsAreRefusedUnlessTheOperatorAllowsThem) {
  Start();
  EXPECT_EQ(Talk("zSHUTDOWN\0"s), "SHUTDOWN: not allowed: serve --clamd-allow-shutdown enables it. ERROR\0"s);
  EXPECT_EQ(Talk("zRELOAD\0"s), "RELOAD: this server has no rules store to reload (serve --rules-store). ERROR\0"s);
  EXPECT_EQ(Talk("zSCAN /etc/passwd\0"s),
            "/etc/passwd: path commands are off: serve --clamd-scan-root DIR allows a folder. ERROR\0"s);
  EXPECT_EQ(Talk("zPING\0"s), "PONG\0"s);
}

// serve wires these hooks to the rules store's reload (as SIGHUP) and to SIGTERM.
TEST_F(ClamdTest, ReloadAndAnAllowedShutdownReachTheServersHooks) {
  ServerOptions options;
  options.clamd.allow_shutdown = true;
  Start(options);
  std::atomic<int> reloads{0}, shutdowns{0};
  server_->OnReloadRequest([&] { ++reloads; });
  server_->OnShutdownRequest([&] { ++shutdowns; });
  EXPECT_EQ(Talk("zRELOAD\0"s), "RELOADING\0"s);
  EXPECT_EQ(Talk("nRELOAD\n"s), "RELOADING\n"s);
  EXPECT_EQ(reloads.load(), 2);
  // SHUTDOWN has no reply: clamd closes the connection and stops.
  EXPECT_EQ(Talk("zSHUTDOWN\0"s), "");
  EXPECT_EQ(shutdowns.load(), 1);
}

TEST_F(ClamdTest, PathsStayBelowTheScanRootsWithoutFollowingLinks) {
  TempDir root, outside;
  WriteFile(root.path() / "eicar.txt", kEicar);
  WriteFile(root.path() / "sub" / "clean.txt", "hello");
  WriteFile(outside.path() / "eicar.txt", kEicar);
  std::filesystem::create_symlink(outside.path() / "eicar.txt", root.path() / "sub" / "link.txt");
  std::filesystem::create_directory_symlink(outside.path(), root.path() / "away");
  ServerOptions options;
  options.clamd.scan_roots = {root.path().string()};
  Start(options);
  const std::string r = root.path().string();
  EXPECT_EQ(Talk(Z("zSCAN " + r + "/sub")), Z(r + "/sub: OK"));
  EXPECT_EQ(Talk(Z("zCONTSCAN " + r)), Z(r + "/eicar.txt: Tollgate.Test.EICAR.UNOFFICIAL FOUND"));
  EXPECT_EQ(Talk(Z("zMULTISCAN " + r)), Z(r + "/eicar.txt: Tollgate.Test.EICAR.UNOFFICIAL FOUND"));
  // Every engine's deciding finding, where SCAN names the first.
  EXPECT_EQ(Talk(Z("zALLMATCHSCAN " + r + "/eicar.txt")),
            Z(r + "/eicar.txt: Tollgate.Test.EICAR.UNOFFICIAL FOUND") + Z(r + "/eicar.txt: Tollgate.EICAR FOUND") +
                Z(r + "/eicar.txt: Tollgate_EICAR FOUND"));
  EXPECT_EQ(Talk("nSCAN " + r + "/sub/clean.txt\n"), r + "/sub/clean.txt: OK\n");
  EXPECT_EQ(Talk("SCAN " + r + "/eicar.txt"), r + "/eicar.txt: Tollgate.Test.EICAR.UNOFFICIAL FOUND\n");
  EXPECT_EQ(Talk(Z("zSCAN " + r + "/sub/link.txt")),
            Z(r + "/sub/link.txt: a symbolic link is on the way: not followed. ERROR"));
  EXPECT_EQ(Talk(Z("zSCAN " + r + "/away/eicar.txt")),
            Z(r + "/away/eicar.txt: a symbolic link is on the way: not followed. ERROR"));
  EXPECT_EQ(Talk(Z("zSCAN " + r + "/sub/../../x")),
            Z(r + "/sub/../../x: not scanned: give an absolute path without .. ERROR"));
  const std::string away = outside.path().string() + "/eicar.txt";
  EXPECT_EQ(Talk(Z("zSCAN " + away)), Z(away + ": outside every --clamd-scan-root: not scanned. ERROR"));
}

}  // namespace
}  // namespace tollgate::testing
