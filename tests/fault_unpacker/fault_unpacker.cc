// A test-only unpacker that misbehaves on request, to show the sandbox contains a parser gone bad.
// Built only with -DTOLLGATE_TEST_FAULTS=ON (the default of the sanitizer test build); never in a
// release. A text layer starting with "TOLLGATE-FAULT:<fault>" triggers <fault>:
//   crash   writes to a wild address (SIGSEGV)        abort   calls abort() (SIGABRT)
//   loop    spins forever                             alloc   allocates and touches memory forever
//   fork    forks                                     open    opens /etc/passwd (outside its job)
//   socket  opens a TCP socket
// Any other text layer is left alone.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "tollgate/unpacker.h"

namespace tollgate {
namespace {

constexpr std::string_view kPrefix = "TOLLGATE-FAULT:";

// What escaped the sandbox: recorded so a test can tell a refused attempt from a successful one.
Finding Escaped(const ScanObject& parent, std::string detail) {
  return HeuristicFinding("Tollgate.TestFault.Escaped", Severity::kHigh, parent.path.ToString(), std::move(detail));
}

class FaultUnpacker final : public Unpacker {
 public:
  std::string_view Name() const override { return "test_fault"; }
  bool Accepts(const ScanObject& object) const override { return object.type.mime == "text/plain"; }
  // It only injects faults: a text layer's words stay the text's, as in a build without it.
  bool WordsAreInChildren() const override { return false; }

  Status Unpack(const ScanObject& parent, ChildSink& sink) const override {
    const std::string_view text(reinterpret_cast<const char*>(parent.bytes.data()), parent.bytes.size());
    if (!text.starts_with(kPrefix)) return Status();
    std::string_view fault = text.substr(kPrefix.size());
    fault = fault.substr(0, fault.find_first_of("\r\n"));
    if (fault == "crash") {
      // Through a volatile pointer: the compiler cannot see (and warn about) the wild address.
      int* volatile wild = reinterpret_cast<int*>(uintptr_t{64});
      *wild = 1;
    } else if (fault == "abort") {
      std::abort();
    } else if (fault == "loop") {
      for (;;) asm volatile("");  // a side effect: a loop the compiler may not remove
    } else if (fault == "alloc") {
      std::vector<std::unique_ptr<char[]>> hoard;
      for (;;) {
        constexpr size_t kChunk = 8 << 20;
        hoard.push_back(std::make_unique<char[]>(kChunk));  // value-initialized: every page touched
      }
    } else if (fault == "fork") {
      const pid_t child = fork();
      if (child == 0) _exit(0);
      if (child > 0) {
        waitpid(child, nullptr, 0);
        sink.Report(Escaped(parent, "forked a process"));
      }
    } else if (fault == "open") {
      const int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
      if (fd < 0) return DataLoss(std::string("open /etc/passwd: ") + std::strerror(errno));
      close(fd);
      sink.Report(Escaped(parent, "opened /etc/passwd"));
    } else if (fault == "socket") {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) return DataLoss(std::string("socket: ") + std::strerror(errno));
      close(fd);
      sink.Report(Escaped(parent, "opened a socket"));
    }
    return Status();
  }
};

}  // namespace

std::unique_ptr<Unpacker> MakeUnpacker_test_fault() { return std::make_unique<FaultUnpacker>(); }

}  // namespace tollgate
