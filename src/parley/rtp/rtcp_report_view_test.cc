#include "parley/rtp/rtcp_report_view.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace parley::rtp {
namespace {

ReportBlock Block(uint32_t ssrc) {
  ReportBlock b;
  b.ssrc = ssrc;
  b.fraction_lost = 26;
  b.cumulative_lost = -3;  // duplicates outnumbering losses: negative, sign-extended
  b.extended_highest_sequence = 0x0001'0042;
  b.jitter = 480;
  b.last_sr = 0xB705'2000;
  b.delay_since_last_sr = 0x0005'4000;
  return b;
}

// RR with one block, SR with two, SDES CNAME: what the relay sends a participant.
std::vector<uint8_t> RelayStyleCompound() {
  std::vector<uint8_t> bytes(512);
  const std::array<ReportBlock, 1> rr_blocks = {Block(0x1111)};
  const std::array<ReportBlock, 2> sr_blocks = {Block(0x2222), Block(0x3333)};
  SenderInfo info{0xB44D'B705'2000'0000, 96000, 250, 40000};
  size_t pos = WriteReceiverReport(bytes, 0xAAAA, rr_blocks);
  pos += WriteSenderReport(std::span(bytes).subspan(pos), 0xBBBB, info, sr_blocks);
  pos += WriteCnameSdes(std::span(bytes).subspan(pos), 0xAAAA, "parley-relay");
  bytes.resize(pos);
  return bytes;
}

TEST(RtcpReportViewTest, WrittenReportsParseIdenticallyBothWays) {
  const std::vector<uint8_t> bytes = RelayStyleCompound();
  EXPECT_EQ(bytes.size(), ReceiverReportBytes(1) + SenderReportBytes(2) + CnameSdesBytes(12));
  EXPECT_EQ(bytes.size() % 4, 0u);

  // The general parser (rtcp_packet.h) agrees with every byte the writers produced.
  const Result<RtcpCompound> parsed = ParseRtcpCompound(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->packets.size(), 3u);
  const auto& rr = std::get<ReceiverReport>(parsed->packets[0]);
  EXPECT_EQ(rr.ssrc, 0xAAAAu);
  EXPECT_EQ(rr.report_blocks, std::vector<ReportBlock>{Block(0x1111)});
  const auto& sr = std::get<SenderReport>(parsed->packets[1]);
  EXPECT_EQ(sr.ssrc, 0xBBBBu);
  EXPECT_EQ(sr.sender_info.rtp_timestamp, 96000u);
  EXPECT_EQ(sr.report_blocks.size(), 2u);
  const auto& sdes = std::get<SourceDescription>(parsed->packets[2]);
  ASSERT_EQ(sdes.chunks.size(), 1u);
  EXPECT_EQ(sdes.chunks[0].items, (std::vector<SdesItem>{{SdesType::kCname, "parley-relay"}}));

  // The in-place reader sees the same two reports.
  std::array<RtcpReportView, 4> views;
  const std::optional<size_t> count = ReadRtcpReports(bytes, views);
  ASSERT_EQ(count, 2u);
  EXPECT_FALSE(views[0].sender_report);
  EXPECT_EQ(views[0].ssrc, 0xAAAAu);
  ASSERT_EQ(views[0].block_count, 1);
  EXPECT_EQ(views[0].block(0), Block(0x1111));
  EXPECT_TRUE(views[1].sender_report);
  EXPECT_EQ(views[1].sender_info, sr.sender_info);
  ASSERT_EQ(views[1].block_count, 2);
  EXPECT_EQ(views[1].block(1), Block(0x3333));
}

TEST(RtcpReportViewTest, ReportsBeyondTheOutputAreCountedNotStored) {
  const std::vector<uint8_t> bytes = RelayStyleCompound();
  std::array<RtcpReportView, 1> one;
  EXPECT_EQ(ReadRtcpReports(bytes, one), 2u);
  EXPECT_EQ(one[0].ssrc, 0xAAAAu);
  EXPECT_EQ(ReadRtcpReports(bytes, {}), 2u);
}

TEST(RtcpReportViewTest, BrokenFramingOrShortReportsAreRefusedWhole) {
  const std::vector<uint8_t> good = RelayStyleCompound();
  std::array<RtcpReportView, 4> views;

  EXPECT_EQ(ReadRtcpReports({}, views), std::nullopt);
  // Cut inside the SDES: its length runs past the end.
  EXPECT_EQ(ReadRtcpReports(std::span(good).first(good.size() - 4), views), std::nullopt);
  // Version 1 on the second packet.
  std::vector<uint8_t> version = good;
  version[ReceiverReportBytes(1)] = static_cast<uint8_t>((1 << 6) | 2);
  EXPECT_EQ(ReadRtcpReports(version, views), std::nullopt);
  // An RR claiming 3 blocks in the room of 1 (the length field still frames it).
  std::vector<uint8_t> count = good;
  count[0] = static_cast<uint8_t>((2 << 6) | 3);
  EXPECT_EQ(ReadRtcpReports(count, views), std::nullopt);
  // Padding on the first packet (only the last may have it).
  std::vector<uint8_t> padded = good;
  padded[0] |= 0x20;
  EXPECT_EQ(ReadRtcpReports(padded, views), std::nullopt);

  RtcpFrame frame;
  EXPECT_EQ(ReadRtcpFrame(good, good.size() - 2, frame), RtcpFramingFault::kShortHeader);
  EXPECT_EQ(ReadRtcpFrame(version, ReceiverReportBytes(1), frame), RtcpFramingFault::kBadVersion);
  EXPECT_EQ(ReadRtcpFrame(padded, 0, frame), RtcpFramingFault::kPaddingNotLast);
  ASSERT_EQ(ReadRtcpFrame(good, 0, frame), RtcpFramingFault::kNone);
  EXPECT_EQ(frame.packet_type, 201);
  EXPECT_EQ(frame.packet_bytes, ReceiverReportBytes(1));
}

TEST(RtcpReportViewTest, WritersRefuseWhatDoesNotFit) {
  std::array<uint8_t, 64> small{};
  const std::array<ReportBlock, 2> two = {Block(1), Block(2)};
  EXPECT_EQ(WriteSenderReport(small, 1, SenderInfo{}, two), 0u);  // 76 bytes > 64
  EXPECT_EQ(WriteReceiverReport(small, 1, two), ReceiverReportBytes(2));
  const std::vector<ReportBlock> too_many(32, Block(1));
  std::vector<uint8_t> large(2048);
  EXPECT_EQ(WriteReceiverReport(large, 1, too_many), 0u);
  EXPECT_EQ(WriteCnameSdes(large, 1, std::string(256, 'x')), 0u);
  // A CNAME whose item ends on a word boundary still gets its END byte (and a word of
  // padding for it).
  EXPECT_EQ(CnameSdesBytes(1), 12u);  // SSRC, type, length, 1 byte, END
  EXPECT_EQ(CnameSdesBytes(2), 16u);  // the item fills 8 bytes: END takes a new word
  EXPECT_EQ(CnameSdesBytes(5), 16u);
  const size_t written = WriteCnameSdes(large, 7, "ab");
  ASSERT_EQ(written, 16u);
  const Result<RtcpCompound> parsed =
      ParseRtcpCompound(std::span(large).first(written), RtcpParseRules{false});
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
}

}  // namespace
}  // namespace parley::rtp
