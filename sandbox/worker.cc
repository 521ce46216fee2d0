#include "worker.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <iconv.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "channel.h"
#include "tollgate/report_json.h"

// AddressSanitizer reserves terabytes of shadow address space at startup, so an RLIMIT_AS (or
// RLIMIT_DATA) a scan could live with cannot be set under it; there the parent's RSS polling
// (worker_pool.cc) is the only memory bound.
#if defined(__SANITIZE_ADDRESS__)
#define TOLLGATE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TOLLGATE_ASAN 1
#endif
#endif

namespace tollgate::sandbox {
namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "tollgate worker %d: %s: %s\n", getpid(), what, std::strerror(errno));
  _exit(kExitSetupFailed);
}

void SetLimit(int resource, rlim_t soft, rlim_t hard, const char* what) {
  const rlimit limit{soft, hard};
  if (setrlimit(resource, &limit) != 0) Fail(what);
}

#ifndef TOLLGATE_ASAN
// Virtual size now, in bytes: the address-space limit is set above what the worker already maps.
uint64_t VirtualSize() {
  unsigned long long pages = 0;
  if (FILE* statm = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(statm, "%llu", &pages) != 1) pages = 0;
    std::fclose(statm);
  }
  return pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}
#endif

// `threads`: how many threads the worker may run; those not started yet reserve address space later.
void SetLimits(const WorkerLimits& limits, [[maybe_unused]] unsigned threads) {
  SetLimit(RLIMIT_CORE, 0, 0, "RLIMIT_CORE");
  // The job socket, stdio, one upload and the few temp files libclamav extracts into.
  SetLimit(RLIMIT_NOFILE, 32, 32, "RLIMIT_NOFILE");
  // No new processes for an unprivileged worker (root ignores it; seccomp refuses fork for both).
  SetLimit(RLIMIT_NPROC, 0, 0, "RLIMIT_NPROC");
  // A backstop for a parent that no longer watches: the deadline kill bounds each scan.
  SetLimit(RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1, "RLIMIT_CPU");
#ifndef TOLLGATE_ASAN
  // A thread reserves its stack (8 MiB at most) and a glibc malloc arena (64 MiB) as it starts: address
  // space, not memory a scan uses, so the limit allows for it. The pool's RSS watch bounds real use.
  constexpr uint64_t kThreadAddressSpace = 72ull << 20;
  const rlim_t address_space = VirtualSize() + limits.memory_limit_bytes + (threads - 1) * kThreadAddressSpace;
  SetLimit(RLIMIT_AS, address_space, address_space, "RLIMIT_AS");
#endif
}

void AllowBeneath(int ruleset_fd, const std::string& path, __u64 access) {
  landlock_path_beneath_attr beneath{};
  beneath.allowed_access = access;
  beneath.parent_fd = open(path.c_str(), O_PATH | O_CLOEXEC);
  if (beneath.parent_fd < 0) Fail(path.c_str());
  if (syscall(SYS_landlock_add_rule, ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) != 0) Fail("landlock_add_rule");
  close(beneath.parent_fd);
}

// glibc's iconv modules (libclamav converts code pages with iconv, which loads them on first use):
// the folder "gconv" beside libc.
std::string GconvFolder() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&iconv_open), &info) == 0 || info.dli_fname == nullptr) return "";
  const std::string libc = info.dli_fname;
  const std::string folder = libc.substr(0, libc.find_last_of('/')) + "/gconv";
  return access(folder.c_str(), R_OK) == 0 ? folder : "";
}

// Files: nothing but the temp folder, where libclamav writes what it extracts, and reading glibc's
// iconv modules.
void RestrictFiles() {
  const long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 1) Fail("Landlock is not available");
  landlock_ruleset_attr ruleset{};
  ruleset.handled_access_fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;  // every right of ABI 1
  if (abi >= 2) ruleset.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
  const int ruleset_fd = static_cast<int>(syscall(SYS_landlock_create_ruleset, &ruleset, sizeof ruleset, 0));
  if (ruleset_fd < 0) Fail("landlock_create_ruleset");
  const char* tmpdir = std::getenv("TMPDIR");
  const std::string temp = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
  AllowBeneath(ruleset_fd, temp, ruleset.handled_access_fs & ~static_cast<__u64>(LANDLOCK_ACCESS_FS_EXECUTE));
  if (const std::string gconv = GconvFolder(); !gconv.empty()) {
    AllowBeneath(ruleset_fd, gconv, LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR);
  }
  if (syscall(SYS_landlock_restrict_self, ruleset_fd, 0) != 0) Fail("landlock_restrict_self");
  close(ruleset_fd);
}

void Allow(scmp_filter_ctx filter, int syscall_number) {
  if (seccomp_rule_add(filter, SCMP_ACT_ALLOW, syscall_number, 0) != 0) Fail("seccomp_rule_add");
}

// What scanning needs and nothing more; anything else kills the worker (SIGSYS): no socket, no
// fork or exec, no signals to other processes, no ptrace.
void InstallSeccomp() {
  scmp_filter_ctx filter = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (filter == nullptr) Fail("seccomp_init");
  for (int call : {
           // Memory.
           SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect),
           SCMP_SYS(madvise),
           // The job socket and the upload's memfd.
           SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
           SCMP_SYS(pwrite64), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
           SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(lseek),
           SCMP_SYS(fcntl), SCMP_SYS(dup),
           // libclamav's temp files (Landlock keeps them inside the temp folder).
           SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(mkdir), SCMP_SYS(mkdirat),
           SCMP_SYS(rmdir), SCMP_SYS(getdents64), SCMP_SYS(ftruncate), SCMP_SYS(fsync), SCMP_SYS(access),
           SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(getcwd),
           // Threads (TBB, should a library start one), time, identity, exit.
           SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sched_yield),
           SCMP_SYS(sched_getaffinity), SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
           SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(getpid),
           SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
           SCMP_SYS(getegid), SCMP_SYS(getrandom), SCMP_SYS(uname), SCMP_SYS(sysinfo),
           SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
           SCMP_SYS(exit), SCMP_SYS(exit_group),
           // The sanitizers probe whether memory is readable by writing it to a pipe of their own.
           SCMP_SYS(pipe2)}) {
    Allow(filter, call);
  }
  // Threads only: a clone without CLONE_THREAD is a new process.
  if (seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)) != 0 ||
      // clone3 passes its flags in memory seccomp cannot read; ENOSYS makes glibc fall back to clone.
      seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) != 0 ||
      // abort() and raise() signal the worker itself, and nothing else.
      seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(getpid()))) != 0 ||
      // Reading limits (glibc, sanitizers) but never changing them.
      seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 2, SCMP_A0(SCMP_CMP_EQ, 0),
                       SCMP_A2(SCMP_CMP_EQ, 0)) != 0 ||
      seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(getrlimit), 0) != 0 ||
      // libclamav chmods the temp folder it just created 0700; Landlock does not cover permissions,
      // so a worker running as root could chmod any file: pretend success instead.
      seccomp_rule_add(filter, SCMP_ACT_ERRNO(0), SCMP_SYS(chmod), 0) != 0 ||
      seccomp_rule_add(filter, SCMP_ACT_ERRNO(0), SCMP_SYS(fchmod), 0) != 0 ||
      seccomp_rule_add(filter, SCMP_ACT_ERRNO(0), SCMP_SYS(fchmodat), 0) != 0 ||
      // isatty() and friends on stdio: no ioctl reaches a device.
      seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 0) != 0 ||
      seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, SCMP_A0(SCMP_CMP_EQ, PR_GET_DUMPABLE)) != 0) {
    Fail("seccomp_rule_add");
  }
  if (seccomp_load(filter) != 0) Fail("seccomp_load");
  seccomp_release(filter);
}

// The slot shared with the pool, mapped before the seccomp filter forbids memfd_create.
// What the fatal-signal handler needs: the shared slot, the job running, and each thread's layer.
LayerSlot* shared_slot = nullptr;
std::atomic<uint64_t> running_job{0};  // lock-free: read in the signal handler
struct ThreadLayer {
  uint64_t job = 0;  // the job `path` belongs to: a thread keeps its last layer between jobs
  LayerPath path{};
};
thread_local ThreadLayer thread_layer;

void Record(LayerPath& to, const std::string& path) {
  const size_t length = std::min(path.size(), sizeof to.path);
  std::memcpy(to.path, path.data(), length);
  to.length = static_cast<uint32_t>(length);
}

// Names the crashing thread's layer, then lets the signal take its default action (SA_RESETHAND:
// the faulting instruction runs again, abort() raises again). Only memcpy-like stores: async-signal-safe.
void OnFatalSignal(int) {
  if (shared_slot != nullptr && thread_layer.job == running_job && thread_layer.path.length > 0) {
    shared_slot->crashed = thread_layer.path;
  }
}

void CatchFatalSignals() {
  struct sigaction action {};
  action.sa_handler = OnFatalSignal;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  for (const int signal : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) {
    if (sigaction(signal, &action, nullptr) != 0) Fail("sigaction");
  }
}

LayerSlot* MapLayerSlot(UniqueFd& fd) {
  fd = UniqueFd(memfd_create("tollgate-layer", MFD_CLOEXEC));
  if (fd.get() < 0 || ftruncate(fd.get(), sizeof(LayerSlot)) != 0) Fail("memfd for the layer slot");
  void* slot = mmap(nullptr, sizeof(LayerSlot), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (slot == MAP_FAILED) Fail("mmap the layer slot");
  return static_cast<LayerSlot*>(slot);
}

std::string RunJob(const Scanner& scanner, int upload, const std::string& header_text, LayerSlot& slot) {
  const nlohmann::json header = nlohmann::json::parse(header_text);
  const std::string name = header.at("name").get<std::string>();
  const std::chrono::steady_clock::time_point deadline{
      std::chrono::steady_clock::duration(header.at("deadline").get<int64_t>())};
  struct stat info{};
  if (fstat(upload, &info) != 0) Fail("fstat the upload");
  const size_t size = static_cast<size_t>(info.st_size);
  const void* mapped = size == 0 ? nullptr : mmap(nullptr, size, PROT_READ, MAP_SHARED, upload, 0);
  if (mapped == MAP_FAILED) Fail("mmap the upload");
  ++running_job;
  slot.latest.length = 0;
  slot.crashed.length = 0;
  std::mutex writing;  // layers run on several threads: `latest` holds whichever started last, whole
  const LayerObserver entering = [&slot, &writing](const ObjectPath& layer) {
    const std::string path = layer.ToString();
    thread_layer.job = running_job;
    Record(thread_layer.path, path);
    std::lock_guard lock(writing);
    Record(slot.latest, path);
  };
  const ScanReport report = scanner.Scan(name, {static_cast<const uint8_t*>(mapped), size}, deadline, entering);
  if (mapped != nullptr) munmap(const_cast<void*>(mapped), size);
  return ReportToJson(report, report.name).dump();
}

}  // namespace

void WorkerMain(const Scanner& scanner, int socket, pid_t parent, const WorkerLimits& limits) {
  // Whatever its ancestors blocked (serve blocks SIGTERM/SIGHUP for its own signal thread), the
  // worker takes signals' default actions.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  prctl(PR_SET_NAME, "tollgate-worker");
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) Fail("PR_SET_PDEATHSIG");
  if (getppid() != parent) _exit(kExitSetupFailed);  // the parent died before PDEATHSIG was set
  // Only stdio and the job socket stay open: the parent's listening sockets, audit log and other
  // workers' sockets are no business of a parser.
  if (dup2(socket, kJobSocketFd) != kJobSocketFd) Fail("dup2 the job socket");
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0) Fail("open /dev/null");
  if (close_range(kJobSocketFd + 1, ~0u, 0) != 0) Fail("close_range");
  // A scan's layers run in parallel, as in process: a worker has as many threads as it may use cores
  // (its CPU affinity; started by TBB when first needed, after confinement; seccomp allows threads).
  const unsigned threads = static_cast<unsigned>(std::max(1, tbb::info::default_concurrency()));
  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, threads);
  // A first scan loads what engines set up lazily (libmagic's database file, per-thread scratch)
  // while files may still be opened.
  static constexpr uint8_t kWarmUp[] = "tollgate worker warm-up\n";
  (void)scanner.Scan("warm-up.txt", {kWarmUp, sizeof kWarmUp - 1});
  // A failed allocation ends the worker with a status the parent reports as memory_limit.
  std::set_new_handler([] { _exit(kExitOutOfMemory); });
  SetLimits(limits, threads);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Fail("PR_SET_NO_NEW_PRIVS");
  RestrictFiles();
  UniqueFd slot_fd;
  LayerSlot* slot = MapLayerSlot(slot_fd);
  shared_slot = slot;
  CatchFatalSignals();
  InstallSeccomp();
  if (!SendFrame(kJobSocketFd, kReadyMessage, slot_fd.get())) _exit(0);
  slot_fd.reset();

  std::string header;
  for (UniqueFd upload; ReceiveFrame(kJobSocketFd, header, upload) && upload.get() >= 0;) {
    const std::string reply = RunJob(scanner, upload.get(), header, *slot);
    upload.reset();
    if (!SendFrame(kJobSocketFd, reply)) break;
  }
  // _exit: no atexit handlers (LeakSanitizer's would clone a tracer, which seccomp refuses).
  _exit(0);
}

}  // namespace tollgate::sandbox
