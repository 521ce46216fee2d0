// The worker side of the pool: confinement and the job loop, run in the forked child.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "tollgate/scanner.h"

namespace tollgate::sandbox {

// How a worker ends when it cannot go on, as its exit status (the parent maps them to reasons).
inline constexpr int kExitSetupFailed = 70;
inline constexpr int kExitOutOfMemory = 71;

// What a worker sends once it is confined, before it reads its first job: this frame, with the
// memfd of its LayerSlot.
inline constexpr char kReadyMessage[] = "ready";

// A layer's path (ObjectPath::ToString, cut to fit).
struct LayerPath {
  uint32_t length;
  char path[2044];
};

// Where a worker writes the layers it parses, in a memfd page it shares with the pool: a worker that
// dies leaves the answer behind. A scan's layers run on several threads: `latest` is the layer any
// thread entered last; `crashed`, when set, is the layer of the thread that took a fatal signal
// (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT), written by the worker's handler for them. A kill the
// worker cannot catch (seccomp's, the kernel's, the pool's) leaves only `latest`. Read only once the
// worker is dead, so no locking.
struct LayerSlot {
  LayerPath latest;
  LayerPath crashed;
};

// The fd the job socket gets in the worker.
inline constexpr int kJobSocketFd = 3;

struct WorkerLimits {
  uint64_t memory_limit_bytes;
  uint64_t cpu_seconds;  // over the worker's whole life
};

// Never returns: confines the process, then answers jobs on `socket` until the pool closes it. A job
// is a frame (channel.h) holding a JSON header {"name", "deadline"} with the upload's sealed memfd;
// the answer is a frame holding the report as ReportToJson writes it.
[[noreturn]] void WorkerMain(const Scanner& scanner, int socket, pid_t parent, const WorkerLimits& limits);

}  // namespace tollgate::sandbox
