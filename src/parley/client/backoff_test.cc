#include "parley/client/backoff.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <vector>

namespace parley::client {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, DoublesFrom250MsUpTo8SecondsWithoutJitter) {
  Backoff backoff({.jitter = 0.0});
  std::vector<int64_t> delays;
  for (int i = 0; i < 8; ++i) delays.push_back(backoff.NextDelay().count());
  EXPECT_EQ(delays, (std::vector<int64_t>{250, 500, 1000, 2000, 4000, 8000, 8000, 8000}));
  EXPECT_EQ(backoff.attempts(), 8);
}

TEST(BackoffTest, JitterDrawsInTheUpperHalfOfEachStep) {
  Backoff backoff;  // jitter 0.5
  const std::vector<int64_t> ceilings = {250, 500, 1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000};
  bool any_below_ceiling = false;
  for (int64_t ceiling : ceilings) {
    const int64_t delay = backoff.NextDelay().count();
    EXPECT_GE(delay, ceiling / 2);
    EXPECT_LE(delay, ceiling);
    any_below_ceiling |= delay < ceiling;
  }
  EXPECT_TRUE(any_below_ceiling);
}

TEST(BackoffTest, SameSeedSameDelaysOtherSeedOthers) {
  Backoff a({.seed = 42});
  Backoff b({.seed = 42});
  Backoff c({.seed = 43});
  bool differs = false;
  for (int i = 0; i < 10; ++i) {
    const milliseconds delay = a.NextDelay();
    EXPECT_EQ(delay, b.NextDelay());
    differs |= delay != c.NextDelay();
  }
  EXPECT_TRUE(differs);
}

TEST(BackoffTest, ResetStartsAgainFromTheFirstStep) {
  Backoff backoff({.jitter = 0.0});
  for (int i = 0; i < 5; ++i) (void)backoff.NextDelay();
  backoff.Reset();
  EXPECT_EQ(backoff.NextDelay(), milliseconds(250));
}

TEST(BackoffTest, RejectsBadConfig) {
  EXPECT_THROW(Backoff({.initial = milliseconds(0)}), std::invalid_argument);
  EXPECT_THROW(Backoff({.initial = milliseconds(500), .max = milliseconds(100)}),
               std::invalid_argument);
  EXPECT_THROW(Backoff({.multiplier = 0.5}), std::invalid_argument);
  EXPECT_THROW(Backoff({.jitter = 1.5}), std::invalid_argument);
}

}  // namespace
}  // namespace parley::client
