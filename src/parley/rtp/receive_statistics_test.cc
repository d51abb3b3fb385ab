#include "parley/rtp/receive_statistics.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "parley/rtp/ntp_time.h"

namespace parley::rtp {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kSsrc = 0x5EED;

// Feeds `seqs` with timestamps 160 apart and perfect arrival (no jitter).
void Feed(SourceStatistics& s, std::initializer_list<uint16_t> seqs) {
  for (const uint16_t seq : seqs) s.OnPacket(seq, seq * 160u, seq * 160u);
}

TEST(ReceiveStatisticsTest, ProbationNeedsTwoSequentialPackets) {
  SourceStatistics s(kSsrc, {});
  EXPECT_EQ(s.OnPacket(10, 0, 0u), PacketVerdict::kProbation);
  EXPECT_FALSE(s.validated());
  // Out of sequence: probation starts again from 12.
  EXPECT_EQ(s.OnPacket(12, 0, 0u), PacketVerdict::kProbation);
  EXPECT_EQ(s.OnPacket(13, 0, 0u), PacketVerdict::kCounted);
  EXPECT_TRUE(s.validated());
  // A.1: the packet ending probation is the base and the only one counted.
  EXPECT_EQ(s.received(), 1u);
  EXPECT_EQ(s.expected(), 1);
  EXPECT_EQ(s.extended_highest_sequence(), 13u);
}

TEST(ReceiveStatisticsTest, LongerProbationWhenConfigured) {
  ReceiveStatisticsConfig config;
  config.min_sequential = 4;
  SourceStatistics s(kSsrc, config);
  EXPECT_EQ(s.OnPacket(1, 0, 0u), PacketVerdict::kProbation);
  EXPECT_EQ(s.OnPacket(2, 0, 0u), PacketVerdict::kProbation);
  EXPECT_EQ(s.OnPacket(3, 0, 0u), PacketVerdict::kProbation);
  EXPECT_EQ(s.OnPacket(4, 0, 0u), PacketVerdict::kCounted);
}

TEST(ReceiveStatisticsTest, LossAndFractionWithReorderingAndDuplicates) {
  SourceStatistics s(kSsrc, {});
  Feed(s, {1000, 1001});  // probation ends at 1001: base 1001
  // 1003 arrives after 1004, 1005 twice, 1006 and 1007 lost.
  Feed(s, {1002, 1004, 1003, 1005, 1005, 1008});
  EXPECT_EQ(s.extended_highest_sequence(), 1008u);
  EXPECT_EQ(s.expected(), 8);         // 1001..1008
  EXPECT_EQ(s.received(), 7u);        // the duplicate counts (A.1 has no duplicate detection)
  EXPECT_EQ(s.cumulative_lost(), 1);  // 2 lost - 1 duplicate
  ReportBlock first = s.MakeReportBlock({});
  EXPECT_EQ(first.cumulative_lost, 1);
  EXPECT_EQ(first.fraction_lost, 256 * 1 / 8);  // lost_interval 1 of expected_interval 8
  EXPECT_EQ(first.extended_highest_sequence, 1008u);

  // Next interval: 2 expected, 3 received (a duplicate): lost_interval -1 -> fraction 0.
  Feed(s, {1009, 1010, 1010});
  EXPECT_EQ(s.cumulative_lost(), 0);
  ReportBlock second = s.MakeReportBlock({});
  EXPECT_EQ(second.fraction_lost, 0);
  EXPECT_EQ(second.cumulative_lost, 0);

  // Duplicates beyond losses make cumulative loss negative, as A.3 defines it.
  Feed(s, {1011, 1011, 1011});
  EXPECT_EQ(s.cumulative_lost(), -2);
  EXPECT_EQ(s.MakeReportBlock({}).cumulative_lost, -2);

  // An interval with nothing new: expected_interval 0 -> fraction 0.
  EXPECT_EQ(s.MakeReportBlock({}).fraction_lost, 0);

  // Half of the next 10 lost.
  Feed(s, {1013, 1015, 1017, 1019, 1021});
  EXPECT_EQ(s.PeekFractionLost(), 256 * 5 / 10);
  EXPECT_EQ(s.MakeReportBlock({}).fraction_lost, 128);
}

TEST(ReceiveStatisticsTest, SequenceWrapCountsCycles) {
  SourceStatistics s(kSsrc, {});
  Feed(s, {65534, 65535, 0, 2, 1});
  EXPECT_EQ(s.extended_highest_sequence(), 65536u + 2);
  EXPECT_EQ(s.expected(), 4);  // 65535, 0, 1, 2
  EXPECT_EQ(s.received(), 4u);
  EXPECT_EQ(s.cumulative_lost(), 0);
  // Late packet from before the wrap (reordered by 3) changes nothing but received.
  Feed(s, {65535});
  EXPECT_EQ(s.extended_highest_sequence(), 65538u);
  EXPECT_EQ(s.cumulative_lost(), -1);
}

TEST(ReceiveStatisticsTest, BigJumpIsBadUntilConfirmedThenRestarts) {
  SourceStatistics s(kSsrc, {});
  Feed(s, {100, 101, 102, 103});
  EXPECT_EQ(s.OnPacket(5000, 0, 0u), PacketVerdict::kBadSequence);  // 4897 ahead >= 3000
  EXPECT_EQ(s.OnPacket(104, 0, 0u), PacketVerdict::kCounted);       // not 5001: no restart
  EXPECT_EQ(s.received(), 4u);
  EXPECT_EQ(s.extended_highest_sequence(), 104u);
  // Misordered by more than 100: also bad.
  EXPECT_EQ(s.OnPacket(3, 0, 0u), PacketVerdict::kBadSequence);
  // Within 100 back: counted as a late packet.
  EXPECT_EQ(s.OnPacket(50, 0, 0u), PacketVerdict::kCounted);
  EXPECT_EQ(s.received(), 5u);
  // Two sequential packets after a jump: the source restarted.
  EXPECT_EQ(s.OnPacket(9000, 0, 0u), PacketVerdict::kBadSequence);
  EXPECT_EQ(s.OnPacket(9001, 0, 0u), PacketVerdict::kRestarted);
  EXPECT_EQ(s.received(), 1u);
  EXPECT_EQ(s.expected(), 1);
  EXPECT_EQ(s.extended_highest_sequence(), 9001u);
  EXPECT_EQ(s.OnPacket(9002, 0, 0u), PacketVerdict::kCounted);
  EXPECT_EQ(s.cumulative_lost(), 0);
}

TEST(ReceiveStatisticsTest, JitterMatchesHandComputation) {
  SourceStatistics s(kSsrc, {});
  // (seq, timestamp, arrival) in 8 kHz units; transit = arrival - timestamp.
  s.OnPacket(1, 0, 1000u);    // probation: ignored
  s.OnPacket(2, 160, 1160u);  // transit 1000: reference only
  s.OnPacket(3, 320, 1360u);  // transit 1040, D 40: J = 40/16 = 2.5
  EXPECT_DOUBLE_EQ(s.jitter_rtp(), 2.5);
  s.OnPacket(4, 480, 1480u);  // transit 1000, D 40: J = 2.5 + 37.5/16 = 4.84375
  EXPECT_DOUBLE_EQ(s.jitter_rtp(), 4.84375);
  s.OnPacket(5, 640, 1640u);  // transit 1000, D 0: J = 4.84375 * 15/16 = 4.541015625
  EXPECT_DOUBLE_EQ(s.jitter_rtp(), 4.541015625);
  s.OnPacket(6, 800, 1720u);  // transit 920, D 80: J = 4.541015625 + 75.458984375/16
  EXPECT_DOUBLE_EQ(s.jitter_rtp(), 9.2572021484375);
  EXPECT_EQ(s.jitter_report(), 9u);
  EXPECT_EQ(s.MakeReportBlock({}).jitter, 9u);
}

TEST(ReceiveStatisticsTest, JitterHandlesTimestampAndArrivalWrap) {
  SourceStatistics s(kSsrc, {});
  // Timestamps and arrival both cross 2^32; constant transit: no jitter.
  uint32_t ts = 0xFFFFFE00u;
  uint32_t arrival = 0xFFFFFF00u;
  for (uint16_t seq = 0; seq < 10; ++seq, ts += 160, arrival += 160) s.OnPacket(seq, ts, arrival);
  EXPECT_DOUBLE_EQ(s.jitter_rtp(), 0.0);
}

TEST(ReceiveStatisticsTest, ATimestampJumpOrRestartIsNotJitter) {
  SourceStatistics s(kSsrc, {});
  uint32_t ts = 0;
  uint32_t arrival = 1000;
  uint16_t seq = 0;
  for (int i = 0; i < 10; ++i, ts += 160, arrival += 160) s.OnPacket(seq++, ts, arrival);
  ts += 10 * 8000;  // the sender's timestamps leap 10 s ahead; its packets keep their pace
  for (int i = 0; i < 10; ++i, ts += 160, arrival += 160) s.OnPacket(seq++, ts, arrival);
  ts = 0;  // and restart from 0
  for (int i = 0; i < 10; ++i, ts += 160, arrival += 160) s.OnPacket(seq++, ts, arrival);
  EXPECT_DOUBLE_EQ(s.jitter_rtp(), 0.0);
  // Just below the threshold it is jitter, as A.8 says.
  s.OnPacket(seq++, ts + 5 * 8000 - 1, arrival);
  EXPECT_DOUBLE_EQ(s.jitter_rtp(), (5 * 8000 - 1) / 16.0);
}

TEST(ReceiveStatisticsTest, ArrivalFromClockUsesClockRate) {
  ReceiveStatisticsConfig config;
  config.clock_rate_hz = 48000;
  SourceStatistics s(kSsrc, config);
  Clock::TimePoint t{};
  // 20 ms packets (960 units); every other one arrives 5 ms (240 units) late.
  for (uint16_t seq = 0; seq < 400; ++seq) {
    s.OnPacket(seq, seq * 960u, t + (seq % 2 ? 5ms : 0ms));
    t += 20ms;
  }
  // |D| = 240 on every step: J converges to 240.
  EXPECT_NEAR(s.jitter_rtp(), 240.0, 1e-6);
}

TEST(ReceiveStatisticsTest, CumulativeLostClampsTo24Bits) {
  SourceStatistics s(kSsrc, {});
  Feed(s, {0, 1});
  uint16_t seq = 1;
  for (int i = 0; i < 2900; ++i) {  // each step loses 2998 packets: 8.7 million in all
    seq = static_cast<uint16_t>(seq + 2999);
    ASSERT_EQ(s.OnPacket(seq, 0, 0u), PacketVerdict::kCounted);
  }
  EXPECT_GT(s.cumulative_lost(), 0x7FFFFF);
  EXPECT_EQ(s.cumulative_lost_24(), 0x7FFFFF);
  EXPECT_EQ(s.MakeReportBlock({}).cumulative_lost, 0x7FFFFF);
}

TEST(ReceiveStatisticsTest, LsrAndDlsrFromLastSenderReport) {
  SourceStatistics s(kSsrc, {});
  Feed(s, {1, 2});
  EXPECT_EQ(s.MakeReportBlock({}).last_sr, 0u);  // no SR yet
  const Clock::TimePoint arrival = Clock::TimePoint(100s);
  s.OnSenderReport(0xB44DB70520000000ull, arrival);  // RFC 3550 §6.4.1's example
  const ReportBlock block = s.MakeReportBlock(arrival + 5250ms);
  EXPECT_EQ(block.last_sr, 0xB7052000u);
  EXPECT_EQ(block.delay_since_last_sr, 0x00054000u);  // 5.25 s
}

TEST(ReceiveStatisticsTest, TracksSourcesByPacketSsrc) {
  ReceiveStatistics stats;
  std::array<uint8_t, 172> buffer{};
  const std::array<uint8_t, 160> payload{};
  auto send = [&](uint32_t ssrc, uint16_t seq) {
    RtpPacketFields fields;
    fields.ssrc = ssrc;
    fields.sequence_number = seq;
    fields.timestamp = seq * 160u;
    Result<size_t> n = WriteRtpPacket(fields, payload, buffer);
    ASSERT_TRUE(n.ok());
    Result<RtpPacketView> view = ParseRtpPacket(std::span<const uint8_t>(buffer).first(*n));
    ASSERT_TRUE(view.ok());
    stats.OnRtpPacket(*view, seq * 160u);
  };
  for (uint16_t seq = 0; seq < 10; ++seq) {
    send(0xB, seq);
    if (seq != 5) send(0xA, seq);
  }
  send(0xC, 0);  // still on probation: no report block
  ASSERT_NE(stats.Find(0xA), nullptr);
  EXPECT_EQ(stats.Find(0xD), nullptr);
  const std::vector<ReportBlock> blocks = stats.MakeReportBlocks({});
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].ssrc, 0xAu);
  EXPECT_EQ(blocks[0].cumulative_lost, 1);
  EXPECT_EQ(blocks[0].fraction_lost, 256 / 9);  // 1 of 1..9
  EXPECT_EQ(blocks[1].ssrc, 0xBu);
  EXPECT_EQ(blocks[1].cumulative_lost, 0);
}

TEST(ReceiveStatisticsTest, RejectsBadConfig) {
  ReceiveStatisticsConfig config;
  config.clock_rate_hz = 0;
  EXPECT_THROW(ReceiveStatistics{config}, std::invalid_argument);
}

}  // namespace
}  // namespace parley::rtp
