#include "stage_clock.h"

namespace tollgate {
namespace {

// Time spent, on this thread, in timers nested inside the innermost running one.
thread_local int64_t nested_micros = 0;

}  // namespace

StageClock::StageClock(const std::vector<std::string>& stages)
    : slots_(std::make_unique<Slot[]>(stages.size())), size_(stages.size()) {
  for (size_t i = 0; i < size_; ++i) slots_[i].stage = stages[i];
}

std::vector<StageTime> StageClock::Report() const {
  std::vector<StageTime> report;
  for (size_t i = 0; i < size_; ++i) {
    const Slot& slot = slots_[i];
    if (slot.calls.load() == 0) continue;
    report.push_back({slot.stage, std::chrono::microseconds(slot.micros.load()), slot.calls.load(), slot.bytes.load()});
  }
  return report;
}

StageClock::Timer::Timer(StageClock& clock, size_t slot, uint64_t bytes)
    : clock_(clock), slot_(slot), started_(std::chrono::steady_clock::now()), nested_before_(nested_micros) {
  nested_micros = 0;
  clock_.slots_[slot_].calls.fetch_add(1, std::memory_order_relaxed);
  clock_.slots_[slot_].bytes.fetch_add(bytes, std::memory_order_relaxed);
}

StageClock::Timer::~Timer() {
  const int64_t elapsed =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started_).count();
  clock_.slots_[slot_].micros.fetch_add(elapsed - nested_micros, std::memory_order_relaxed);
  nested_micros = nested_before_ + elapsed;
}

}  // namespace tollgate
