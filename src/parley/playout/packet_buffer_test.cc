#include "parley/playout/packet_buffer.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <stdexcept>
#include <vector>

namespace parley::playout {
namespace {

using std::chrono::milliseconds;

constexpr int kOpusRate = 48000;
constexpr int64_t k20Ms = 960;  // ticks of 20 ms at 48 kHz

PacketInfo Packet(int64_t seq, int64_t duration = k20Ms, bool redundant = false) {
  PacketInfo info;
  info.timestamp = seq * k20Ms;
  info.sequence_number = seq;
  info.payload_type = 111;
  info.duration = duration;
  info.is_redundant = redundant;
  return info;
}

std::array<uint8_t, 3> Bytes(uint8_t tag) { return {tag, static_cast<uint8_t>(tag + 1), 0xAB}; }

PacketBuffer::InsertResult InsertSeq(PacketBuffer& buffer, int64_t seq, bool redundant = false) {
  const auto bytes = Bytes(static_cast<uint8_t>(seq));
  return buffer.Insert(Packet(seq, k20Ms, redundant), bytes).result;
}

TEST(PacketBufferTest, OrdersAnyArrivalOrderByTimestamp) {
  PacketBuffer buffer;
  for (int64_t seq : {3, 1, 4, 0, 2}) {
    EXPECT_EQ(InsertSeq(buffer, seq), PacketBuffer::InsertResult::kInserted);
  }
  ASSERT_EQ(buffer.size(), 5u);
  EXPECT_EQ(buffer.SpanTicks(), 5 * k20Ms);
  EXPECT_DOUBLE_EQ(buffer.SpanMs(), 100.0);
  for (int64_t seq = 0; seq < 5; ++seq) {
    std::optional<PacketView> next = buffer.PeekNext();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->info.sequence_number, seq);
    ASSERT_EQ(next->payload.size(), 3u);
    EXPECT_EQ(next->payload[0], seq);  // the payload was copied with its packet
    ASSERT_TRUE(buffer.PopNext());
    EXPECT_EQ(buffer.played_until(), (seq + 1) * k20Ms);
  }
  EXPECT_TRUE(buffer.empty());
  EXPECT_FALSE(buffer.PopNext());
  EXPECT_EQ(buffer.stats().inserted, 5u);
  EXPECT_EQ(buffer.stats().popped, 5u);
}

TEST(PacketBufferTest, ReorderIsNotLossWhenTheMiddlePacketArrivesInTime) {
  PacketBuffer buffer;
  ASSERT_EQ(InsertSeq(buffer, 0), PacketBuffer::InsertResult::kInserted);
  ASSERT_EQ(InsertSeq(buffer, 2), PacketBuffer::InsertResult::kInserted);
  ASSERT_TRUE(buffer.PopNext());  // 0 played
  // Judged now, 2 would follow a 20 ms hole...
  ASSERT_TRUE(buffer.GapToNext());
  // ...but 1 arrives before it is played: no gap.
  ASSERT_EQ(InsertSeq(buffer, 1), PacketBuffer::InsertResult::kInserted);
  EXPECT_FALSE(buffer.GapToNext());
  EXPECT_EQ(buffer.PopNext()->sequence_number, 1);
  EXPECT_FALSE(buffer.GapToNext());
  EXPECT_EQ(buffer.PopNext()->sequence_number, 2);
  EXPECT_EQ(buffer.stats().late, 0u);
}

TEST(PacketBufferTest, ReportsAGapWithItsStartAndDuration) {
  PacketBuffer buffer;
  ASSERT_EQ(InsertSeq(buffer, 0), PacketBuffer::InsertResult::kInserted);
  ASSERT_EQ(InsertSeq(buffer, 3), PacketBuffer::InsertResult::kInserted);
  ASSERT_TRUE(buffer.PopNext());
  std::optional<Gap> gap = buffer.GapToNext();
  ASSERT_TRUE(gap);
  EXPECT_EQ(gap->start, k20Ms);
  EXPECT_EQ(gap->duration, 2 * k20Ms);
  EXPECT_EQ(buffer.GapTo(k20Ms), std::nullopt);
  // The engine conceals 40 ms, then the playout point has moved on.
  EXPECT_EQ(buffer.DiscardUpTo(3 * k20Ms), 0u);
  EXPECT_FALSE(buffer.GapToNext());
  // Packet 1 turning up now is late.
  EXPECT_EQ(InsertSeq(buffer, 1), PacketBuffer::InsertResult::kLate);
  EXPECT_EQ(buffer.stats().late, 1u);
}

TEST(PacketBufferTest, NoGapBeforeThePlayoutPointIsKnown) {
  PacketBuffer buffer;
  ASSERT_EQ(InsertSeq(buffer, 5), PacketBuffer::InsertResult::kInserted);
  EXPECT_FALSE(buffer.GapToNext());
  buffer.SetPlayoutPoint(3 * k20Ms);
  ASSERT_TRUE(buffer.GapToNext());
  EXPECT_EQ(buffer.GapToNext()->duration, 2 * k20Ms);
}

TEST(PacketBufferTest, DropsAndCountsDuplicates) {
  PacketBuffer buffer;
  ASSERT_EQ(InsertSeq(buffer, 0), PacketBuffer::InsertResult::kInserted);
  ASSERT_EQ(InsertSeq(buffer, 1), PacketBuffer::InsertResult::kInserted);
  EXPECT_EQ(InsertSeq(buffer, 1), PacketBuffer::InsertResult::kDuplicate);
  EXPECT_EQ(buffer.size(), 2u);
  ASSERT_TRUE(buffer.PopNext());
  // A copy of the packet just played is a duplicate, not a late packet.
  EXPECT_EQ(InsertSeq(buffer, 0), PacketBuffer::InsertResult::kDuplicate);
  EXPECT_EQ(buffer.stats().duplicates, 2u);
  EXPECT_EQ(buffer.stats().late, 0u);
}

TEST(PacketBufferTest, DropsAndCountsLatePackets) {
  PacketBuffer buffer;
  for (int64_t seq = 0; seq < 4; ++seq)
    ASSERT_EQ(InsertSeq(buffer, seq), PacketBuffer::InsertResult::kInserted);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(buffer.PopNext());
  // Played up to 60 ms: a packet at 20 ms is late.
  EXPECT_EQ(InsertSeq(buffer, 1), PacketBuffer::InsertResult::kLate);
  EXPECT_EQ(buffer.stats().late, 1u);
  EXPECT_EQ(buffer.size(), 1u);
}

TEST(PacketBufferTest, PrimaryReplacesRedundantCopyButNotTheOtherWayRound) {
  PacketBuffer buffer;
  ASSERT_EQ(InsertSeq(buffer, 1, /*redundant=*/true), PacketBuffer::InsertResult::kInserted);
  EXPECT_EQ(InsertSeq(buffer, 1), PacketBuffer::InsertResult::kReplacedRedundant);
  EXPECT_FALSE(buffer.PeekNext()->info.is_redundant);
  EXPECT_EQ(InsertSeq(buffer, 1, /*redundant=*/true),
            PacketBuffer::InsertResult::kRedundantDiscarded);
  EXPECT_EQ(buffer.size(), 1u);
  EXPECT_EQ(buffer.stats().redundant_received, 2u);
  EXPECT_EQ(buffer.stats().redundant_discarded, 2u);
}

TEST(PacketBufferTest, BoundedByDurationDroppingOldestOnly) {
  PacketBufferConfig config;
  config.max_buffer = milliseconds(100);  // five 20 ms packets
  PacketBuffer buffer(config);
  for (int64_t seq = 0; seq < 5; ++seq) {
    ASSERT_EQ(buffer.Insert(Packet(seq), Bytes(0)).overflow_dropped, 0);
  }
  EXPECT_EQ(buffer.SpanTicks(), 5 * k20Ms);
  // The sixth makes 120 ms: the oldest goes, nothing else.
  PacketBuffer::InsertOutcome outcome = buffer.Insert(Packet(5), Bytes(0));
  EXPECT_EQ(outcome.result, PacketBuffer::InsertResult::kInserted);
  EXPECT_EQ(outcome.overflow_dropped, 1);
  EXPECT_EQ(buffer.size(), 5u);
  EXPECT_EQ(buffer.PeekNext()->info.sequence_number, 1);
  // A jump far ahead (a stall delivering late audio) drops the oldest but never empties.
  outcome = buffer.Insert(Packet(100), Bytes(0));
  EXPECT_EQ(outcome.overflow_dropped, 5);
  ASSERT_EQ(buffer.size(), 1u);
  EXPECT_EQ(buffer.PeekNext()->info.sequence_number, 100);
  // A reordered packet older than the whole window is itself the one dropped.
  outcome = buffer.Insert(Packet(10), Bytes(0));
  EXPECT_EQ(outcome.result, PacketBuffer::InsertResult::kOverflow);
  EXPECT_EQ(outcome.overflow_dropped, 0);
  EXPECT_EQ(buffer.size(), 1u);
  EXPECT_EQ(buffer.stats().overflow_dropped, 7u);
  EXPECT_EQ(buffer.stats().inserted, 7u);
}

TEST(PacketBufferTest, FullPoolDropsOldest) {
  PacketBufferConfig config;
  config.max_packets = 3;
  PacketBuffer buffer(config);
  for (int64_t seq = 1; seq <= 3; ++seq)
    ASSERT_EQ(InsertSeq(buffer, seq), PacketBuffer::InsertResult::kInserted);
  EXPECT_EQ(InsertSeq(buffer, 0), PacketBuffer::InsertResult::kOverflow);  // older than all
  PacketBuffer::InsertOutcome outcome = buffer.Insert(Packet(4), Bytes(4));
  EXPECT_EQ(outcome.result, PacketBuffer::InsertResult::kInserted);
  EXPECT_EQ(outcome.overflow_dropped, 1);
  std::vector<int64_t> order;
  while (auto info = buffer.PopNext()) order.push_back(info->sequence_number);
  EXPECT_EQ(order, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(buffer.stats().overflow_dropped, 2u);
}

TEST(PacketBufferTest, RejectsOversizePayloadAndKeepsEmptyOnes) {
  PacketBufferConfig config;
  config.max_payload_bytes = 4;
  PacketBuffer buffer(config);
  const std::array<uint8_t, 5> big{};
  EXPECT_EQ(buffer.Insert(Packet(0), big).result, PacketBuffer::InsertResult::kOversize);
  EXPECT_EQ(buffer.Insert(Packet(1), {}).result, PacketBuffer::InsertResult::kInserted);
  EXPECT_TRUE(buffer.PeekNext()->payload.empty());
  EXPECT_EQ(buffer.stats().oversize, 1u);
}

TEST(PacketBufferTest, DiscardUpToAndFlush) {
  PacketBufferConfig config;
  config.max_buffer = milliseconds(10'000);
  PacketBuffer buffer(config);
  for (int64_t seq = 0; seq < 6; ++seq)
    ASSERT_EQ(InsertSeq(buffer, seq), PacketBuffer::InsertResult::kInserted);
  EXPECT_EQ(buffer.DiscardUpTo(2 * k20Ms), 2u);
  EXPECT_EQ(buffer.PeekNext()->info.sequence_number, 2);
  EXPECT_EQ(buffer.played_until(), 2 * k20Ms);
  EXPECT_EQ(buffer.Flush(), 4u);
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.played_until(), 2 * k20Ms);  // a flush keeps the playout point
  EXPECT_EQ(buffer.stats().discarded_old, 2u);
  EXPECT_EQ(buffer.stats().flushed, 4u);
  // The pool's slots all came back.
  for (int64_t seq = 10; seq < 10 + 200; ++seq) {
    ASSERT_EQ(buffer.Insert(Packet(seq), Bytes(0)).overflow_dropped, 0);
  }
}

TEST(PacketBufferTest, UnknownDurationUsesLastKnownThenDefault) {
  PacketBuffer buffer;
  EXPECT_EQ(buffer.DurationOf(Packet(0, 0)), k20Ms);  // the 20 ms default
  ASSERT_EQ(buffer.Insert(Packet(0, 480), Bytes(0)).result, PacketBuffer::InsertResult::kInserted);
  EXPECT_EQ(buffer.DurationOf(Packet(1, 0)), 480);
  ASSERT_EQ(buffer.Insert(Packet(1, 0), Bytes(0)).result, PacketBuffer::InsertResult::kInserted);
  EXPECT_EQ(buffer.ContentTicks(), 960);
}

// Timestamped frames: epoch-millisecond stamps (1000 ticks per second) that jitter by +-1 ms are
// not loss under the 2 ms tolerance; a missing 20 ms frame is.
TEST(PacketBufferTest, TimestampedFramesToleranceOf2Ms) {
  PacketBufferConfig config;
  config.clock_rate_hz = 1000;
  config.gap_tolerance = milliseconds(2);
  PacketBuffer buffer(config);
  const int64_t epoch = 1'700'000'000'000;
  const std::array<int64_t, 8> jitter = {0, 1, -1, 1, 0, -1, 1, -1};
  auto frame = [&](int index) {
    PacketInfo info;
    info.timestamp = epoch + index * 20 + jitter[static_cast<size_t>(index) % jitter.size()];
    info.sequence_number = index;
    info.duration = 20;
    return info;
  };
  for (int i = 0; i < 8; ++i)
    ASSERT_EQ(buffer.Insert(frame(i), Bytes(0)).result, PacketBuffer::InsertResult::kInserted);
  // Frame 9 follows a missing frame 8.
  ASSERT_EQ(buffer.Insert(frame(9), Bytes(0)).result, PacketBuffer::InsertResult::kInserted);
  int gaps = 0;
  for (int i = 0; i < 9; ++i) {
    if (std::optional<Gap> gap = buffer.GapToNext()) {
      ++gaps;
      EXPECT_EQ(buffer.PeekNext()->info.sequence_number, 9);
      EXPECT_NEAR(static_cast<double>(gap->duration), 20.0, 2.0);
      buffer.DiscardUpTo(buffer.PeekNext()->info.timestamp);
    }
    ASSERT_TRUE(buffer.PopNext());
  }
  EXPECT_EQ(gaps, 1);
  // A frame 1 ms before the playout point is within tolerance, not late.
  PacketInfo early = frame(10);
  early.timestamp = *buffer.played_until() - 1;
  EXPECT_EQ(buffer.Insert(early, Bytes(0)).result, PacketBuffer::InsertResult::kInserted);
  EXPECT_FALSE(buffer.GapToNext());
}

TEST(PacketBufferTest, DetectGapIsSymmetricInTolerance) {
  EXPECT_FALSE(DetectGap(100, 102, 2));
  EXPECT_FALSE(DetectGap(100, 98, 2));
  ASSERT_TRUE(DetectGap(100, 103, 2));
  EXPECT_EQ(DetectGap(100, 103, 2)->duration, 3);
  EXPECT_FALSE(DetectGap(100, 100, 0));
  EXPECT_TRUE(DetectGap(100, 101, 0));
}

TEST(PacketBufferTest, SequenceOfWrappedRtpTimestampsStaysOrderedAfterUnwrapping) {
  // 64-bit keys: a stream crossing 2^32 keeps its order (the caller unwraps).
  PacketBuffer buffer;
  const int64_t base = (int64_t{1} << 32) - k20Ms;
  for (int64_t i : {1, 0, 2}) {
    PacketInfo info = Packet(0);
    info.timestamp = base + i * k20Ms;
    info.sequence_number = i;
    ASSERT_EQ(buffer.Insert(info, Bytes(0)).result, PacketBuffer::InsertResult::kInserted);
  }
  EXPECT_EQ(buffer.PopNext()->sequence_number, 0);
  EXPECT_EQ(buffer.PopNext()->sequence_number, 1);
  EXPECT_EQ(buffer.PopNext()->sequence_number, 2);
}

TEST(PacketBufferTest, InvalidConfigThrows) {
  PacketBufferConfig config;
  config.clock_rate_hz = 0;
  EXPECT_THROW(PacketBuffer{config}, std::invalid_argument);
  config = {};
  config.max_packets = 0;
  EXPECT_THROW(PacketBuffer{config}, std::invalid_argument);
  config = {};
  config.gap_tolerance = milliseconds(-1);
  EXPECT_THROW(PacketBuffer{config}, std::invalid_argument);
  config = {};
  config.max_buffer = milliseconds(0);
  EXPECT_THROW(PacketBuffer{config}, std::invalid_argument);
  EXPECT_EQ(kOpusRate, PacketBuffer{}.config().clock_rate_hz);
}

}  // namespace
}  // namespace parley::playout
