#include "parley/rtp/sequence_unwrapper.h"

#include <gtest/gtest.h>

namespace parley::rtp {
namespace {

TEST(SequenceUnwrapperTest, FirstValueUnwrapsToItself) {
  SequenceNumberUnwrapper u;
  EXPECT_FALSE(u.newest().has_value());
  EXPECT_EQ(u.Unwrap(65530), 65530);
  EXPECT_EQ(u.newest(), 65530);
}

TEST(SequenceUnwrapperTest, ForwardAcrossWrap) {
  SequenceNumberUnwrapper u;
  int64_t expected = 65530;
  uint16_t seq = 65530;
  for (int i = 0; i < 200000; ++i) {  // three wraps
    ASSERT_EQ(u.Unwrap(seq), expected);
    ++seq;
    ++expected;
  }
}

TEST(SequenceUnwrapperTest, ReorderingNearWrapIsOlderNotAWrap) {
  SequenceNumberUnwrapper u;
  EXPECT_EQ(u.Unwrap(65534), 65534);
  EXPECT_EQ(u.Unwrap(1), 65537);      // wrapped forward
  EXPECT_EQ(u.Unwrap(65535), 65535);  // late packet from before the wrap
  EXPECT_EQ(u.Unwrap(0), 65536);
  EXPECT_EQ(u.newest(), 65537);  // the reference never moves backwards
  EXPECT_EQ(u.Unwrap(2), 65538);
}

TEST(SequenceUnwrapperTest, BackwardJumpBelowHalfIsOlder) {
  SequenceNumberUnwrapper u;
  EXPECT_EQ(u.Unwrap(40000), 40000);
  EXPECT_EQ(u.Unwrap(40000 - 32767), 40000 - 32767);  // older, same cycle
  EXPECT_EQ(u.Unwrap(100), 65536 + 100);              // 25636 ahead of 40000: forward
  // From 65636, raw 40001 is 25635 back: older, before the wrap.
  EXPECT_EQ(u.Unwrap(40001), 40001);
}

TEST(SequenceUnwrapperTest, ExactlyHalfRangeForwardOnlyWhenLarger) {
  SequenceNumberUnwrapper a;
  a.Unwrap(0);
  EXPECT_EQ(a.Unwrap(32768), 32768);  // larger raw value: newer
  SequenceNumberUnwrapper b;
  b.Unwrap(32768);
  EXPECT_EQ(b.Unwrap(0), 0);  // half a range either way and smaller: older
}

TEST(SequenceUnwrapperTest, OlderThanFirstGoesNegative) {
  SequenceNumberUnwrapper u;
  u.Unwrap(2);
  EXPECT_EQ(u.Unwrap(65535), -1);
  EXPECT_EQ(u.PeekUnwrap(3), 3);
  EXPECT_EQ(u.newest(), 2);
}

TEST(TimestampUnwrapperTest, WrapsAt32Bits) {
  TimestampUnwrapper u;
  EXPECT_EQ(u.Unwrap(0xFFFFFF60u), 0xFFFFFF60);
  EXPECT_EQ(u.Unwrap(0x00000000u), int64_t{1} << 32);
  EXPECT_EQ(u.Unwrap(0x000000A0u), (int64_t{1} << 32) + 160);
  EXPECT_EQ(u.Unwrap(0xFFFFFFC0u), 0xFFFFFFC0);  // reordered, before the wrap
  u.Reset();
  EXPECT_EQ(u.Unwrap(5), 5);
}

TEST(TimestampUnwrapperTest, LongRunOfTwentyMsSteps) {
  TimestampUnwrapper u;
  uint32_t ts = 0xF0000000u;
  int64_t expected = 0xF0000000;
  for (int i = 0; i < 1'000'000; ++i) {  // 20 ms at 48 kHz, about 5.5 hours: one wrap
    ASSERT_EQ(u.Unwrap(ts), expected);
    ts += 960;
    expected += 960;
  }
  EXPECT_GT(expected, int64_t{1} << 32);
}

}  // namespace
}  // namespace parley::rtp
