#include "parley/lab/send_time_index.h"

#include <gtest/gtest.h>

#include "parley/codec/registry.h"

namespace parley::lab {
namespace {

// A stream of 20 ms Opus packets (960 ticks), sent every 20 ms from 0, with the given
// timestamps.
LabStream Stream(const std::vector<uint32_t>& timestamps) {
  LabStream stream;
  stream.format.codec = &codec::GetCodecInfo(codec::CodecId::kOpus);
  stream.format.frame_ms = 20;
  stream.format.first_timestamp = timestamps.front();
  for (size_t i = 0; i < timestamps.size(); ++i) {
    stream.packets.push_back({static_cast<int64_t>(i), timestamps[i], 20.0 * i, {}, {}});
  }
  return stream;
}

TEST(SendTimeIndexTest, MediaInsideAPacketIsSentAtItsSendTimePlusTheOffset) {
  const SendTimeIndex index(Stream({0, 960, 1920}));
  EXPECT_EQ(index.SendMs(0, 100), 0.0);
  EXPECT_EQ(index.SendMs(480, 100), 10.0);  // 10 ms into the first packet
  EXPECT_EQ(index.SendMs(1920 + 959, 100), 40.0 + 959 / 48.0);
  EXPECT_FALSE(index.SendMs(2880, 100));         // past the last packet
  EXPECT_FALSE(index.SendMs(0xFFFFFFFFu, 100));  // before the first
}

TEST(SendTimeIndexTest, ATimestampJumpForwardKeepsTheSendClock) {
  // Timestamps leap 5 s ahead after the second packet; the sender's clock runs on.
  const uint32_t leap = 5 * 48000;
  const SendTimeIndex index(Stream({0, 960, 1920 + leap, 2880 + leap}));
  // The third packet's media plays at 100 ms: it was sent at 40 ms, whatever its timestamp.
  EXPECT_EQ(index.SendMs(1920 + leap, 100), 40.0);
  EXPECT_EQ(index.SendMs(2880 + leap, 100), 60.0);
}

TEST(SendTimeIndexTest, ARestartThatReusesTimestampsTakesTheLatestSentBeforePlayout) {
  // The sender restarts at its first timestamp after two packets: 0, 960, then 0, 960 again.
  const SendTimeIndex index(Stream({0, 960, 0, 960}));
  EXPECT_EQ(index.SendMs(0, 30), 0.0);   // at 30 ms only the first packet 0 had been sent
  EXPECT_EQ(index.SendMs(0, 70), 40.0);  // by 70 ms the restarted one had
  EXPECT_EQ(index.SendMs(960, 65), 60.0);
}

TEST(SendTimeIndexTest, TimestampsThatWrapAroundAreFound) {
  const uint32_t first = 0xFFFFFFFFu - 959;  // the second packet starts at 0 after the wrap
  const SendTimeIndex index(Stream({first, first + 960, first + 1920}));
  EXPECT_EQ(index.SendMs(first, 100), 0.0);
  EXPECT_EQ(index.SendMs(0xFFFFFFFFu, 100), 959 / 48.0);  // the first packet's last tick
  EXPECT_EQ(index.SendMs(0, 100), 20.0);                  // after the wrap
  EXPECT_EQ(index.SendMs(480, 100), 30.0);
  EXPECT_EQ(index.SendMs(960, 100), 40.0);
}

TEST(SendTimeIndexTest, AFrameThatStraddlesTheWrapCoversBothSides) {
  const uint32_t first = 0xFFFFFFFFu - 479;  // the first frame ends 480 ticks past the wrap
  const SendTimeIndex index(Stream({first, first + 960}));
  EXPECT_EQ(index.SendMs(first + 240, 100), 5.0);
  EXPECT_EQ(index.SendMs(100, 100), (480 + 100) / 48.0);
  EXPECT_EQ(index.SendMs(480, 100), 20.0);
}

TEST(SendTimeIndexTest, AStrayPacketFarAheadDoesNotMoveTheOthers) {
  const SendTimeIndex index(Stream({0, 960, 10 * 48000, 2880}));
  EXPECT_EQ(index.SendMs(960, 100), 20.0);
  EXPECT_EQ(index.SendMs(2880, 100), 60.0);
  EXPECT_EQ(index.SendMs(10 * 48000, 100), 40.0);
}

}  // namespace
}  // namespace parley::lab
