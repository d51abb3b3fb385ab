#include "parley/base/clock.h"

#include <gtest/gtest.h>

namespace parley {
namespace {

using namespace std::chrono_literals;

TEST(SimulatedClockTest, MovesOnlyWhenAdvancedAndKeepsWallTimeInStep) {
  SimulatedClock clock;
  const Clock::TimePoint start = clock.Now();
  const Clock::WallTime wall_start = clock.WallNow();
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(20ms);
  clock.Advance(1min);
  EXPECT_EQ(clock.Now() - start, 60'020ms);
  EXPECT_EQ(clock.WallNow() - wall_start, 60'020ms);
}

TEST(SystemClockTest, MonotonicReadingNeverGoesBack) {
  const Clock& clock = SystemClock::Instance();
  const Clock::TimePoint a = clock.Now();
  const Clock::TimePoint b = clock.Now();
  EXPECT_LE(a, b);
  EXPECT_GT(clock.WallNow().time_since_epoch(), std::chrono::hours(24 * 365 * 50));
}

}  // namespace
}  // namespace parley
