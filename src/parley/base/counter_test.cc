#include "parley/base/counter.h"

#include <gtest/gtest.h>

#include <thread>

namespace parley {
namespace {

TEST(CounterTest, BumpAddsOneOrAnAmount) {
  std::atomic<uint64_t> counter{0};
  Bump(counter);
  Bump(counter, 41);
  EXPECT_EQ(counter.load(), 42u);
}

// One writer, one reader: the reader never sees the count go back, and sees the whole of
// it once the writer is done.
TEST(CounterTest, AReaderSeesTheSingleWritersCountNeverGoBack) {
  constexpr uint64_t kCounts = 200'000;
  std::atomic<uint64_t> counter{0};
  std::atomic<bool> done{false};
  uint64_t regressions = 0;
  std::thread reader([&] {
    uint64_t last = 0;
    while (!done.load(std::memory_order_acquire)) {
      const uint64_t now = counter.load(std::memory_order_relaxed);
      if (now < last) ++regressions;
      last = now;
    }
  });
  for (uint64_t i = 0; i < kCounts; ++i) Bump(counter);
  done.store(true, std::memory_order_release);
  reader.join();
  EXPECT_EQ(regressions, 0u);
  EXPECT_EQ(counter.load(), kCounts);
}

}  // namespace
}  // namespace parley
