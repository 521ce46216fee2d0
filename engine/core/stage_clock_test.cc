#include "stage_clock.h"

#include <gtest/gtest.h>

#include <thread>

namespace tollgate {
namespace {

void Busy(std::chrono::milliseconds how_long) { std::this_thread::sleep_for(how_long); }

TEST(StageClock, ATimerInsideAnotherCountsForItsOwnStageOnly) {
  StageClock clock({"outer", "inner", "unused"});
  {
    const StageClock::Timer outer(clock, 0, 100);
    Busy(std::chrono::milliseconds(20));
    {
      const StageClock::Timer inner(clock, 1, 7);
      Busy(std::chrono::milliseconds(40));
    }
  }
  const std::vector<StageTime> report = clock.Report();
  ASSERT_EQ(report.size(), 2u) << "a stage that never ran is not reported";
  EXPECT_EQ(report[0].stage, "outer");
  EXPECT_EQ(report[0].calls, 1u);
  EXPECT_EQ(report[0].bytes, 100u);
  EXPECT_EQ(report[1].stage, "inner");
  EXPECT_EQ(report[1].bytes, 7u);
  EXPECT_GE(report[1].time, std::chrono::milliseconds(40));
  // The outer stage's own time leaves out the inner one's.
  EXPECT_GE(report[0].time, std::chrono::milliseconds(20));
  EXPECT_LT(report[0].time, std::chrono::milliseconds(40));
}

TEST(StageClock, CallsAddUpAcrossThreads) {
  StageClock clock({"detect"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&clock] {
      for (int i = 0; i < 100; ++i) const StageClock::Timer timer(clock, 0, 1);
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(clock.Report().size(), 1u);
  EXPECT_EQ(clock.Report()[0].calls, 400u);
  EXPECT_EQ(clock.Report()[0].bytes, 400u);
}

}  // namespace
}  // namespace tollgate
