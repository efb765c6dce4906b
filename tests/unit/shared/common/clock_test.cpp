#include "mingus/common/clock.h"

#include <gtest/gtest.h>

#include "fake_clock.h"

namespace mingus {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ClockStepWatch, ReportsEachStepOnceAndNotTimePassing) {
  testing::FakeClock clock;
  ClockStepWatch watch(clock);
  clock.Advance(seconds(3600));
  EXPECT_EQ(watch.TakeStepMs(), 0);
  clock.StepWall(seconds(300));
  clock.Advance(seconds(5));
  EXPECT_EQ(watch.TakeStepMs(), 300'000);
  EXPECT_EQ(watch.TakeStepMs(), 0);
  clock.StepWall(-seconds(120));
  EXPECT_EQ(watch.TakeStepMs(), -120'000);
}

TEST(ClockStepWatch, SmallCorrectionsAreNotSteps) {
  testing::FakeClock clock;
  ClockStepWatch watch(clock, milliseconds(1000));
  clock.StepWall(milliseconds(1000));
  EXPECT_EQ(watch.TakeStepMs(), 0);
  // Corrections are measured from the last look, so slewing never adds up to a step.
  clock.StepWall(milliseconds(900));
  EXPECT_EQ(watch.TakeStepMs(), 0);
  clock.StepWall(milliseconds(1001));
  EXPECT_EQ(watch.TakeStepMs(), 1001);
}

TEST(ClockStepWatch, AClockWithoutMonotonicTimeOfItsOwnNeverSteps) {
  class WallOnly final : public Clock {
   public:
    std::chrono::system_clock::time_point Now() const override { return now; }
    std::chrono::system_clock::time_point now{seconds(1'800'000'000)};
  } clock;
  ClockStepWatch watch(clock);
  clock.now += seconds(300);
  EXPECT_EQ(watch.TakeStepMs(), 0);
}

TEST(SystemClock, MonotonicTimeIsTheSteadyClock) {
  const SystemClock clock;
  const auto before = std::chrono::steady_clock::now();
  const auto now = clock.SteadyNow();
  EXPECT_GE(now, before);
  EXPECT_LE(now, std::chrono::steady_clock::now());
}

}  // namespace
}  // namespace mingus
