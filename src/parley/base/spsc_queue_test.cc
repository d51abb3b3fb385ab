#include "parley/base/spsc_queue.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <thread>

namespace parley {
namespace {

TEST(SpscQueueTest, FifoUntilFullThenRefuses) {
  SpscQueue<int> queue(3);  // rounded up to 4
  EXPECT_EQ(queue.capacity(), 4u);
  int out = 0;
  EXPECT_FALSE(queue.TryPop(out));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(queue.TryPush(i));
  EXPECT_FALSE(queue.TryPush(99));
  EXPECT_EQ(queue.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(queue.TryPop(out));
    EXPECT_EQ(out, i);
  }
  EXPECT_FALSE(queue.TryPop(out));
  // The ring wraps: the counters keep growing past the slot count.
  for (int round = 0; round < 10; ++round) {
    EXPECT_TRUE(queue.TryPush(round));
    ASSERT_TRUE(queue.TryPop(out));
    EXPECT_EQ(out, round);
  }
}

TEST(SpscQueueTest, ZeroCapacityIsMisuse) {
  EXPECT_THROW(SpscQueue<int>(0), std::invalid_argument);
}

// One producer thread, one consumer thread, a small ring so both sides hit full and
// empty often: every value arrives once, in order.
TEST(SpscQueueTest, TwoThreadsTransferEveryValueInOrder) {
  struct Item {
    uint64_t sequence;
    uint64_t check;  // derived from sequence: a torn read would break it
  };
  constexpr uint64_t kCount = 200000;
  SpscQueue<Item> queue(8);
  std::thread producer([&] {
    for (uint64_t i = 0; i < kCount;) {
      if (queue.TryPush(Item{i, i * 0x9E3779B97F4A7C15ULL})) {
        ++i;
      } else {
        std::this_thread::yield();  // on a busy machine the consumer may need this core
      }
    }
  });
  uint64_t expected = 0;
  bool intact = true;
  while (expected < kCount) {
    Item item{};
    if (!queue.TryPop(item)) {
      std::this_thread::yield();
      continue;
    }
    intact =
        intact && item.sequence == expected && item.check == item.sequence * 0x9E3779B97F4A7C15ULL;
    ++expected;
  }
  producer.join();
  EXPECT_TRUE(intact);
  EXPECT_EQ(queue.size(), 0u);
}

}  // namespace
}  // namespace parley
