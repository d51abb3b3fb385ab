#include "parley/rtp/rtcp_packet.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "parley/rtp/ntp_time.h"

namespace parley::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

// SR (one report block) + SDES (CNAME) + BYE (reason), assembled from RFC 3550 §6.4.1,
// §6.5 and §6.6 by hand.
const Bytes kHandCompound = {
    // SR: V=2 P=0 RC=1, PT 200, length 12 (52 bytes)
    0x81, 0xC8, 0x00, 0x0C,  //
    0x12, 0x34, 0x56, 0x78,  // SSRC of sender
    0xB4, 0x4D, 0xB7, 0x05,  // NTP seconds (RFC 3550's example)
    0x20, 0x00, 0x00, 0x00,  // NTP fraction (.125)
    0x00, 0x01, 0xE2, 0x40,  // RTP timestamp 123456
    0x00, 0x00, 0x00, 0x64,  // packet count 100
    0x00, 0x00, 0x3E, 0x80,  // octet count 16000
    0x9A, 0xBC, 0xDE, 0xF0,  // report block: SSRC
    0x20, 0xFF, 0xFF, 0xFE,  // fraction 32/256, cumulative lost -2
    0x00, 0x01, 0x00, 0x05,  // extended highest sequence: 1 cycle, seq 5
    0x00, 0x00, 0x00, 0x09,  // jitter 9
    0xB7, 0x05, 0x20, 0x00,  // LSR
    0x00, 0x05, 0x40, 0x00,  // DLSR 5.25 s
    // SDES: SC=1, PT 202, length 5 (24 bytes)
    0x81, 0xCA, 0x00, 0x05,  //
    0x12, 0x34, 0x56, 0x78,  // chunk SSRC
    0x01, 0x0A, 'u', 's',    // CNAME, 10 bytes
    'e', 'r', '@', 'h',      //
    'o', 's', 't', '1',      //
    0x00, 0x00, 0x00, 0x00,  // END + padding to 32 bits
    // BYE: SC=1, PT 203, length 2 (12 bytes)
    0x81, 0xCB, 0x00, 0x02,  //
    0x12, 0x34, 0x56, 0x78,  // SSRC
    0x03, 'b', 'y', 'e',     // reason
};

RtcpCompound HandCompound() {
  SenderReport sr;
  sr.ssrc = 0x12345678;
  sr.sender_info = {0xB44DB70520000000ull, 123456, 100, 16000};
  sr.report_blocks.push_back({0x9ABCDEF0, 0x20, -2, 0x00010005, 9, 0xB7052000, 0x00054000});
  SourceDescription sdes;
  sdes.chunks.push_back({0x12345678, {{SdesType::kCname, "user@host1"}}});
  Bye bye;
  bye.ssrcs = {0x12345678};
  bye.reason = "bye";
  return {{sr, sdes, bye}, 0};
}

Bytes Write(const RtcpCompound& compound, RtcpParseRules rules = {}) {
  Bytes out(RtcpCompoundSize(compound));
  Result<size_t> written = WriteRtcpCompound(compound, out, rules);
  EXPECT_TRUE(written.ok()) << written.error().message;
  if (written.ok()) {
    EXPECT_EQ(*written, out.size());
  }
  return out;
}

TEST(RtcpPacketTest, ParsesHandAssembledCompound) {
  Result<RtcpCompound> parsed = ParseRtcpCompound(kHandCompound);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, HandCompound());
  const auto& sr = std::get<SenderReport>(parsed->packets[0]);
  EXPECT_EQ(sr.report_blocks[0].cumulative_lost, -2);
  EXPECT_EQ(std::get<SourceDescription>(parsed->packets[1]).chunks[0].items[0].text, "user@host1");
}

TEST(RtcpPacketTest, WritesHandAssembledCompoundByteExact) {
  EXPECT_EQ(Write(HandCompound()), kHandCompound);
}

TEST(RtcpPacketTest, RoundTripsEveryPacketType) {
  SenderReport sr;
  sr.ssrc = 1;
  sr.sender_info = {0x0102030405060708ull, 9, 10, 11};
  for (uint32_t i = 0; i < 31; ++i) {
    sr.report_blocks.push_back({i, static_cast<uint8_t>(i), -0x800000 + static_cast<int32_t>(i),
                                i << 16, i * 3, i * 5, i * 7});
  }
  sr.profile_extension = {1, 2, 3, 4};
  ReceiverReport rr;
  rr.ssrc = 2;
  rr.report_blocks.push_back({3, 255, 0x7FFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 1, 2});
  ReceiverReport empty_rr;
  empty_rr.ssrc = 7;
  SourceDescription sdes;
  sdes.chunks.push_back({1,
                         {{SdesType::kCname, "a"},
                          {SdesType::kName, "Alice"},
                          {SdesType::kTool, "parley"},
                          {SdesType::kNote, ""}}});
  sdes.chunks.push_back({2, {}});  // a chunk with no items: SSRC + 4 null bytes
  sdes.chunks.push_back({3,
                         {{SdesType::kPriv, std::string("\x03"
                                                        "abc"
                                                        "value",
                                                        9)},
                          {static_cast<SdesType>(42), std::string(255, 'x')}}});
  Bye bye_no_reason;
  bye_no_reason.ssrcs = {1, 2, 3};
  Bye bye_reason;
  bye_reason.ssrcs = {};
  bye_reason.reason = "shutdown";
  App app;
  app.subtype = 31;
  app.ssrc = 5;
  app.name = {'p', 'r', 'l', 'y'};
  app.data = {9, 8, 7, 6, 5, 4, 3, 2};
  ExtendedReport xr;
  xr.ssrc = 0xABCDEF01;
  VoipMetrics m;
  m.ssrc = 77;
  m.loss_rate = 13;
  m.discard_rate = 2;
  m.burst_density = 100;
  m.gap_density = 3;
  m.burst_duration_ms = 120;
  m.gap_duration_ms = 15000;
  m.round_trip_delay_ms = 180;
  m.end_system_delay_ms = 60;
  m.signal_level_dbm = -20;
  m.noise_level_dbm = -65;
  m.rerl_db = 30;
  m.gmin = 16;
  m.r_factor = 82;
  m.ext_r_factor = 127;
  m.mos_lq = 41;
  m.mos_cq = 40;
  m.plc = XrPlc::kEnhanced;
  m.jitter_buffer_mode = XrJitterBufferMode::kAdaptive;
  m.jitter_buffer_rate = 11;
  m.jb_nominal_ms = 40;
  m.jb_maximum_ms = 120;
  m.jb_abs_max_ms = 200;
  xr.voip_metrics = {m, m};
  xr.other_blocks.push_back({4, 0, {0, 0, 0, 1, 0, 0, 0, 2}});  // receiver reference time
  xr.other_blocks.push_back({99, 0xAB, {}});
  UnknownRtcpPacket nack{205, 1, {0, 0, 0, 1, 0, 0, 0, 2, 0, 5, 0, 0}};

  const std::vector<RtcpCompound> compounds = {
      {{sr}, 0},
      {{rr, sdes, bye_no_reason}, 0},
      {{empty_rr, bye_reason, app, xr, nack}, 0},
      {{sr, xr}, 8},  // padded
  };
  for (size_t i = 0; i < compounds.size(); ++i) {
    SCOPED_TRACE(i);
    const Bytes bytes = Write(compounds[i]);
    Result<RtcpCompound> parsed = ParseRtcpCompound(bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(*parsed, compounds[i]);
    EXPECT_EQ(Write(*parsed), bytes);
  }
}

TEST(RtcpPacketTest, VoipMetricsFieldLayout) {
  Bytes block(36);
  for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<uint8_t>(i);
  block[0] = 7;
  block[2] = 0;
  block[3] = 8;
  block[28] = 0b10'11'0101;  // PLC enhanced, JBA adaptive, rate 5
  Result<VoipMetrics> m = ParseVoipMetrics(block);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->ssrc, 0x04050607u);
  EXPECT_EQ(m->loss_rate, 8);
  EXPECT_EQ(m->discard_rate, 9);
  EXPECT_EQ(m->burst_density, 10);
  EXPECT_EQ(m->gap_density, 11);
  EXPECT_EQ(m->burst_duration_ms, 0x0C0D);
  EXPECT_EQ(m->gap_duration_ms, 0x0E0F);
  EXPECT_EQ(m->round_trip_delay_ms, 0x1011);
  EXPECT_EQ(m->end_system_delay_ms, 0x1213);
  EXPECT_EQ(m->signal_level_dbm, 0x14);
  EXPECT_EQ(m->noise_level_dbm, 0x15);
  EXPECT_EQ(m->rerl_db, 0x16);
  EXPECT_EQ(m->gmin, 0x17);
  EXPECT_EQ(m->r_factor, 0x18);
  EXPECT_EQ(m->ext_r_factor, 0x19);
  EXPECT_EQ(m->mos_lq, 0x1A);
  EXPECT_EQ(m->mos_cq, 0x1B);
  EXPECT_EQ(m->plc, XrPlc::kEnhanced);
  EXPECT_EQ(m->jitter_buffer_mode, XrJitterBufferMode::kAdaptive);
  EXPECT_EQ(m->jitter_buffer_rate, 5);
  EXPECT_EQ(m->jb_nominal_ms, 0x1E1F);
  EXPECT_EQ(m->jb_maximum_ms, 0x2021);
  EXPECT_EQ(m->jb_abs_max_ms, 0x2223);
  Bytes again(36);
  WriteVoipMetrics(*m, std::span<uint8_t, 36>(again.data(), 36));
  block[1] = 0;  // the reserved bytes are written as zero
  block[29] = 0;
  EXPECT_EQ(again, block);
  block[3] = 9;
  EXPECT_EQ(ParseVoipMetrics(block, 40).error().message,
            "XR VoIP Metrics block length 9 != 8 at offset 42");
}

TEST(RtcpPacketTest, XrSkipsUnknownBlocksByLength) {
  // XR with a 12-byte unknown block (type 200) then a 4-byte one (type 3, length 0).
  const Bytes bytes = {0x80, 0xC9, 0x00, 0x01, 0, 0, 0, 1,  // RR, no blocks
                       0x80, 0xCF, 0x00, 0x05, 0, 0, 0, 9,  // XR, SSRC 9
                       200,  1,    0x00, 0x02, 1, 2, 3, 4, 5, 6, 7, 8, 3, 0, 0, 0};
  Result<RtcpCompound> parsed = ParseRtcpCompound(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const auto& xr = std::get<ExtendedReport>(parsed->packets[1]);
  EXPECT_EQ(xr.ssrc, 9u);
  EXPECT_TRUE(xr.voip_metrics.empty());
  ASSERT_EQ(xr.other_blocks.size(), 2u);
  EXPECT_EQ(xr.other_blocks[0], (XrBlock{200, 1, {1, 2, 3, 4, 5, 6, 7, 8}}));
  EXPECT_EQ(xr.other_blocks[1], (XrBlock{3, 0, {}}));
}

TEST(RtcpPacketTest, EveryTruncationIsRejectedOrEndsOnAPacket) {
  for (size_t n = 0; n < kHandCompound.size(); ++n) {
    SCOPED_TRACE(n);
    const Bytes prefix(kHandCompound.begin(), kHandCompound.begin() + static_cast<long>(n));
    Result<RtcpCompound> parsed = ParseRtcpCompound(prefix);
    if (n == 52) {
      ASSERT_TRUE(parsed.ok());
      EXPECT_EQ(parsed->packets.size(), 1u);
    } else if (n == 76) {
      ASSERT_TRUE(parsed.ok());
      EXPECT_EQ(parsed->packets.size(), 2u);
    } else {
      EXPECT_FALSE(parsed.ok());
    }
  }
}

TEST(RtcpPacketTest, ErrorsNameFieldAndOffset) {
  EXPECT_EQ(ParseRtcpCompound({}).error().message, "RTCP compound packet of 0 bytes");
  Bytes bytes = kHandCompound;
  bytes[52] = 0x41;
  EXPECT_EQ(ParseRtcpCompound(bytes).error().message, "RTCP version 1 != 2 at offset 52");
  bytes = kHandCompound;
  bytes[52] |= 0x20;  // padding on the SDES, which is not last
  EXPECT_EQ(ParseRtcpCompound(bytes).error().message,
            "RTCP SDES at offset 52: padding (P) set on a packet that is not the last of the "
            "compound");
  bytes = kHandCompound;
  bytes[3] = 0x0D;  // SR length 13 words: runs into the SDES, whose header then is data
  EXPECT_FALSE(ParseRtcpCompound(bytes).ok());
  bytes = kHandCompound;
  bytes[0] = 0x82;  // RC 2: a second report block does not fit
  EXPECT_EQ(ParseRtcpCompound(bytes).error().message,
            "RTCP SR at offset 0: 52 bytes < 76 for 2 report blocks");
  bytes = kHandCompound;
  bytes[61] = 0x01;  // CNAME length 1: "s" then reads as an item type with length 'e'
  EXPECT_FALSE(ParseRtcpCompound(bytes).ok());
  bytes = kHandCompound;
  bytes[84] = 4;  // the BYE reason claims 4 bytes but 3 remain
  EXPECT_EQ(ParseRtcpCompound(bytes).error().message,
            "RTCP BYE at offset 76: reason length 4 at offset 84 ends past packet end 88");
  const Bytes bye_first = {0x81, 0xCB, 0x00, 0x01, 1, 2, 3, 4};
  EXPECT_EQ(ParseRtcpCompound(bye_first).error().message,
            "RTCP BYE at offset 0: first packet type 203 is not SR (200) or RR (201)");
  EXPECT_TRUE(ParseRtcpCompound(bye_first, {.require_report_first = false}).ok());
  const Bytes long_length = {0x80, 0xC9, 0x00, 0x05, 1, 2, 3, 4};
  EXPECT_EQ(ParseRtcpCompound(long_length).error().message,
            "RTCP RR at offset 0: length 5 words ends at 24 > compound 8 bytes");
  const Bytes bad_pad = {0xA0, 0xC9, 0x00, 0x02, 1, 2, 3, 4, 0, 0, 0, 3};
  EXPECT_EQ(ParseRtcpCompound(bad_pad).error().message,
            "RTCP RR at offset 0: padding count 3 at offset 11: not a multiple of 4 in 4..8");
}

TEST(RtcpPacketTest, WriterRejectsOutOfRangeFields) {
  Bytes out(2048);
  Bye bye;
  bye.ssrcs.assign(32, 1);
  EXPECT_FALSE(WriteRtcpPacket(bye, out).ok());
  bye.ssrcs.clear();
  bye.reason.assign(256, 'r');
  EXPECT_FALSE(WriteRtcpPacket(bye, out).ok());
  App app;
  app.data = {1, 2, 3};
  EXPECT_FALSE(WriteRtcpPacket(app, out).ok());
  SourceDescription sdes;
  sdes.chunks.push_back({1, {{SdesType::kEnd, "x"}}});
  EXPECT_FALSE(WriteRtcpPacket(sdes, out).ok());
  RtcpCompound bye_first{{Bye{}}, 0};
  EXPECT_FALSE(WriteRtcpCompound(bye_first, out).ok());
  EXPECT_TRUE(WriteRtcpCompound(bye_first, out, {.require_report_first = false}).ok());
  ReceiverReport rr;
  rr.report_blocks.push_back({1, 0, 0x800000, 0, 0, 0, 0});
  EXPECT_FALSE(WriteRtcpPacket(rr, out).ok());
  Bytes tiny(7);
  EXPECT_EQ(WriteRtcpPacket(ReceiverReport{}, tiny).error().message,
            "RTCP packet needs 8 bytes > buffer 7");
}

TEST(RtcpNtpTest, WallTimeToNtpAndBack) {
  EXPECT_EQ(WallTimeToNtp(Clock::WallTime{}), uint64_t{kNtpUnixEpochOffsetSeconds} << 32);
  const Clock::WallTime t{std::chrono::seconds(1'700'000'000) + std::chrono::milliseconds(125)};
  const uint64_t ntp = WallTimeToNtp(t);
  EXPECT_EQ(ntp >> 32, 1'700'000'000u + kNtpUnixEpochOffsetSeconds);
  EXPECT_EQ(ntp & 0xFFFFFFFF, 0x20000000u);  // 1/8 s
  EXPECT_EQ(NtpToWallTime(ntp), t);
  EXPECT_EQ(CompactNtp(0xB44DB70520000000ull), 0xB7052000u);
  // After the 2036 era rollover.
  const Clock::WallTime later{std::chrono::seconds(2'200'000'000)};
  EXPECT_EQ(NtpToWallTime(WallTimeToNtp(later)), later);
}

TEST(RtcpNtpTest, RoundTripTimeFromRfcExample) {
  // RFC 3550 §6.4.1: A 0xb710:8000, LSR 0xb705:2000, DLSR 0x0005:4000 -> 6.125 s.
  const auto rtt = RoundTripTime(0xB7108000u, 0xB7052000u, 0x00054000u);
  ASSERT_TRUE(rtt.has_value());
  EXPECT_EQ(*rtt, std::chrono::milliseconds(6125));
  EXPECT_FALSE(RoundTripTime(0xB7108000u, 0, 0x00054000u).has_value());            // no SR yet
  EXPECT_FALSE(RoundTripTime(0xB7052000u, 0xB7052000u, 0x00010000u).has_value());  // < 0
  EXPECT_EQ(DurationToCompactNtp(std::chrono::milliseconds(5250)), 0x00054000u);
  EXPECT_EQ(CompactNtpToDuration(0x00062000u), std::chrono::milliseconds(6125));
}

TEST(RtcpNtpTest, RoundTripThroughReportBlocks) {
  // A sender at wall time T sends an SR; the receiver answers 250 ms after receiving it;
  // the answer arrives back 80 ms of network time (40 each way) later.
  const Clock::WallTime sent{std::chrono::seconds(1'700'000'000)};
  const uint32_t lsr = CompactNtp(WallTimeToNtp(sent));
  const uint32_t dlsr = DurationToCompactNtp(std::chrono::milliseconds(250));
  const Clock::WallTime back = sent + std::chrono::milliseconds(40 + 250 + 40);
  const auto rtt = RoundTripTime(CompactNtp(WallTimeToNtp(back)), lsr, dlsr);
  ASSERT_TRUE(rtt.has_value());
  const double rtt_ms = std::chrono::duration<double, std::milli>(*rtt).count();
  EXPECT_NEAR(rtt_ms, 80.0, 0.05);
}

}  // namespace
}  // namespace parley::rtp
