// Per-stage time of one scan (StageTime in scanner.h), measured from many threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tollgate/scanner.h"

namespace tollgate {

class StageClock {
 public:
  // One slot per stage name, in the order given; reports list them in that order.
  explicit StageClock(const std::vector<std::string>& stages);

  // The stages that ran at least once.
  std::vector<StageTime> Report() const;

  // Times one call of stage `slot` on this thread, from construction to destruction. Timers started
  // inside it on the same thread (a layer libclamav hands on while it scans) are subtracted: each
  // stage counts only its own time.
  class Timer {
   public:
    Timer(StageClock& clock, size_t slot, uint64_t bytes);
    ~Timer();
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

   private:
    StageClock& clock_;
    size_t slot_;
    std::chrono::steady_clock::time_point started_;
    int64_t nested_before_;  // the enclosing timer's nested time, restored and added to on exit
  };

 private:
  struct Slot {
    std::string stage;
    std::atomic<int64_t> micros{0};
    std::atomic<uint64_t> calls{0};
    std::atomic<uint64_t> bytes{0};
  };
  std::unique_ptr<Slot[]> slots_;
  size_t size_;
};

}  // namespace tollgate
