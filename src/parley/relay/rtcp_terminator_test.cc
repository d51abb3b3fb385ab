#include "parley/relay/rtcp_terminator.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "parley/rtp/big_endian.h"
#include "parley/rtp/ntp_time.h"
#include "parley/rtp/rtcp_packet.h"
#include "parley/rtp/rtcp_report_view.h"

namespace parley::relay {
namespace {

using std::chrono::milliseconds;
using Peer = RtcpTerminator::Peer;

constexpr uint32_t kA = 0, kB = 1, kC = 2;  // slots
constexpr uint32_t kSsrcA = 0xA, kSsrcB = 0xB, kSsrcC = 0xC;
constexpr uint32_t kRate = 48000;
constexpr size_t kPayloadBytes = 60;

Clock::TimePoint At(Clock::Duration since_start) { return Clock::TimePoint(since_start); }
// A wall clock far from the NTP epoch, as a real one is.
Clock::WallTime WallAt(Clock::Duration since_start) {
  return Clock::WallTime(std::chrono::seconds(1'700'000'000)) + since_start;
}

std::vector<uint8_t> Rtp(uint32_t ssrc, uint16_t sequence, uint32_t timestamp) {
  std::vector<uint8_t> packet(12 + kPayloadBytes, 0);
  packet[0] = 0x80;
  packet[1] = 111;
  rtp::WriteBe16(packet.data() + 2, sequence);
  rtp::WriteBe32(packet.data() + 4, timestamp);
  rtp::WriteBe32(packet.data() + 8, ssrc);
  return packet;
}

// Three participants: A and B speak and hear each other; C only listens.
class RtcpTerminatorTest : public ::testing::Test {
 protected:
  RtcpTerminatorTest() : terminator(8, Config()) {
    terminator.Add(kA, kSsrcA, kRate, At({}));
    terminator.Add(kB, kSsrcB, kRate, At({}));
    terminator.Add(kC, kSsrcC, kRate, At({}));
  }
  static RtcpTerminatorConfig Config() {
    RtcpTerminatorConfig config;
    config.relay_ssrc = 0x5E1A7;
    return config;
  }
  // Peers as the router gives them: whose RTP reaches the participant.
  std::vector<Peer> PeersOf(uint32_t slot) const {
    std::vector<Peer> peers;
    for (uint32_t other : {kA, kB, kC}) {
      if (other != slot) peers.push_back({other, other != kC});
    }
    return peers;
  }
  // `slot` sends 20 ms packets from `first` for `count` packets, arriving `delay` after
  // their media time; every `lose_every`-th is lost on the way (0: none).
  void Send(uint32_t slot, uint32_t ssrc, int first, int count, int lose_every = 0,
            Clock::Duration delay = milliseconds(30)) {
    for (int n = first; n < first + count; ++n) {
      if (lose_every > 0 && n % lose_every == lose_every - 1) continue;
      const auto packet = Rtp(ssrc, static_cast<uint16_t>(n), static_cast<uint32_t>(n * 960));
      terminator.OnRtp(slot, packet, At(milliseconds(20 * n) + delay));
    }
  }
  rtp::RtcpCompound Report(uint32_t slot, Clock::Duration at) {
    std::vector<uint8_t> out(terminator.MaxReportBytes());
    const auto peers = PeersOf(slot);
    const size_t bytes = terminator.WriteReport(slot, peers, At(at), WallAt(at), out);
    EXPECT_GT(bytes, 0u);
    out.resize(bytes);
    Result<rtp::RtcpCompound> parsed = rtp::ParseRtcpCompound(out);
    EXPECT_TRUE(parsed.ok()) << parsed.error().message;
    return parsed.ok() ? std::move(parsed).value() : rtp::RtcpCompound{};
  }

  RtcpTerminator terminator;
};

TEST_F(RtcpTerminatorTest, TheRelaysBlockGivesEachSenderItsUplinkLoss) {
  Send(kA, kSsrcA, 0, 101, /*lose_every=*/10);  // 2 s, 10 % lost (n 9, 19, ... 99)
  const rtp::RtcpCompound report = Report(kA, milliseconds(2100));

  ASSERT_EQ(report.packets.size(), 2u);  // RR and SDES: no SR, nobody else has sent RTP
  const auto& rr = std::get<rtp::ReceiverReport>(report.packets[0]);
  EXPECT_EQ(rr.ssrc, 0x5E1A7u);
  ASSERT_EQ(rr.report_blocks.size(), 1u);
  const rtp::ReportBlock& block = rr.report_blocks[0];
  EXPECT_EQ(block.ssrc, kSsrcA);
  EXPECT_NEAR(block.fraction_lost / 256.0, 0.10, 0.01);
  EXPECT_EQ(block.cumulative_lost, 10);
  EXPECT_EQ(block.last_sr, 0u);  // A sent no SR yet

  const LinkStats a = terminator.link_stats(kA);
  EXPECT_TRUE(a.has_uplink);
  EXPECT_NEAR(a.uplink_loss, 0.10, 0.01);
  EXPECT_EQ(a.uplink_lost, 10);
  EXPECT_LT(a.uplink_jitter_ms, 0.1);  // constant delay: no jitter
  EXPECT_EQ(a.reports_sent, 1u);
  EXPECT_EQ(terminator.histograms().Snapshot().uplink_loss.count, 1u);
}

TEST_F(RtcpTerminatorTest, SenderReportsSpeakForEachStreamTheParticipantHears) {
  Send(kA, kSsrcA, 0, 50);
  Send(kB, kSsrcB, 0, 50);  // last packet: n 49, timestamp 47040, arrives at 1010 ms
  const rtp::RtcpCompound report = Report(kA, milliseconds(1110));

  // RR (about A), SR for B (A hears B; C sends nothing), SDES.
  ASSERT_EQ(report.packets.size(), 3u);
  const auto& sr = std::get<rtp::SenderReport>(report.packets[1]);
  EXPECT_EQ(sr.ssrc, kSsrcB);
  EXPECT_EQ(sr.sender_info.ntp_timestamp, rtp::WallTimeToNtp(WallAt(milliseconds(1110))));
  // 100 ms after the last packet: its timestamp + 4800 (48 kHz).
  EXPECT_EQ(sr.sender_info.rtp_timestamp, 49u * 960 + 4800);
  EXPECT_EQ(sr.sender_info.packet_count, 50u);
  EXPECT_EQ(sr.sender_info.octet_count, 50u * kPayloadBytes);
  const auto& sdes = std::get<rtp::SourceDescription>(report.packets[2]);
  ASSERT_EQ(sdes.chunks.size(), 1u);
  EXPECT_EQ(sdes.chunks[0].ssrc, 0x5E1A7u);
  EXPECT_EQ(sdes.chunks[0].items[0].text, "parley-relay");

  // C listens: its report has SRs for A and B, and an RR without a block (no RTP of its
  // own to report on).
  const rtp::RtcpCompound listener = Report(kC, milliseconds(1110));
  ASSERT_EQ(listener.packets.size(), 4u);
  EXPECT_TRUE(std::get<rtp::ReceiverReport>(listener.packets[0]).report_blocks.empty());
  EXPECT_FALSE(terminator.link_stats(kC).has_uplink);
}

TEST_F(RtcpTerminatorTest, AReceiverReportGivesTheDownlinkAndTheRoundTrip) {
  Send(kB, kSsrcB, 0, 50);
  const rtp::RtcpCompound report = Report(kA, milliseconds(1100));
  const auto& sr = std::get<rtp::SenderReport>(report.packets[1]);

  // A answers 70 ms later: its block about B echoes the SR's NTP, and says it held the SR
  // 20 ms. The round trip is 70 - 20 = 50 ms.
  rtp::ReportBlock block;
  block.ssrc = kSsrcB;
  block.fraction_lost = 13;  // 5 %
  block.jitter = 960;        // 20 ms at 48 kHz
  block.last_sr = rtp::CompactNtp(sr.sender_info.ntp_timestamp);
  block.delay_since_last_sr = rtp::DurationToCompactNtp(milliseconds(20));
  std::vector<uint8_t> rr(rtp::ReceiverReportBytes(1));
  ASSERT_GT(rtp::WriteReceiverReport(rr, kSsrcA, std::array{block}), 0u);
  const auto peers = PeersOf(kA);
  ASSERT_TRUE(terminator.OnRtcp(kA, rr, peers, At(milliseconds(1170)), WallAt(milliseconds(1170))));

  const LinkStats a = terminator.link_stats(kA);
  EXPECT_TRUE(a.has_rtt);
  EXPECT_NEAR(a.rtt_ms, 50.0, 0.1);
  EXPECT_TRUE(a.has_downlink);
  EXPECT_NEAR(a.downlink_loss, 0.05, 0.001);
  EXPECT_NEAR(a.downlink_jitter_ms, 20.0, 0.01);
  EXPECT_EQ(a.reports_received, 1u);
  const LinkDistributions seen = terminator.histograms().Snapshot();
  EXPECT_EQ(seen.rtt.count, 1u);
  EXPECT_NEAR(seen.rtt.sum, 0.050, 0.0001);
  EXPECT_EQ(seen.downlink_loss.count, 1u);
}

TEST_F(RtcpTerminatorTest, OnlyWhatAParticipantSaysForItselfAboutStreamsItHearsCounts) {
  Send(kB, kSsrcB, 0, 50);
  rtp::ReportBlock about_c;  // C sends nothing to A
  about_c.ssrc = kSsrcC;
  about_c.fraction_lost = 255;
  const auto peers = PeersOf(kA);
  std::vector<uint8_t> rr(rtp::ReceiverReportBytes(1));
  ASSERT_GT(rtp::WriteReceiverReport(rr, kSsrcA, std::array{about_c}), 0u);
  EXPECT_TRUE(terminator.OnRtcp(kA, rr, peers, At(milliseconds(1100)), WallAt(milliseconds(1100))));
  EXPECT_FALSE(terminator.link_stats(kA).has_downlink);

  // A report in A's compound claiming to come from B is not A's to make.
  rtp::ReportBlock about_b;
  about_b.ssrc = kSsrcB;
  about_b.fraction_lost = 255;
  ASSERT_GT(rtp::WriteReceiverReport(rr, kSsrcB, std::array{about_b}), 0u);
  EXPECT_TRUE(terminator.OnRtcp(kA, rr, peers, At(milliseconds(1100)), WallAt(milliseconds(1100))));
  EXPECT_FALSE(terminator.link_stats(kA).has_downlink);
  EXPECT_EQ(terminator.link_stats(kA).reports_received, 1u);

  // Broken framing: counted, nothing read.
  rr[3] = 40;  // length far past the end
  EXPECT_FALSE(
      terminator.OnRtcp(kA, rr, peers, At(milliseconds(1100)), WallAt(milliseconds(1100))));
  EXPECT_EQ(terminator.link_stats(kA).malformed, 1u);
}

TEST_F(RtcpTerminatorTest, ASenderReportFromTheParticipantIsEchoedInTheNextBlock) {
  Send(kA, kSsrcA, 0, 50);
  const uint64_t ntp = rtp::WallTimeToNtp(WallAt(milliseconds(900)));
  std::vector<uint8_t> sr(rtp::SenderReportBytes(0));
  ASSERT_GT(rtp::WriteSenderReport(sr, kSsrcA, rtp::SenderInfo{ntp, 43200, 45, 2700}, {}), 0u);
  const auto peers = PeersOf(kA);
  ASSERT_TRUE(terminator.OnRtcp(kA, sr, peers, At(milliseconds(1000)), WallAt(milliseconds(1000))));

  const rtp::RtcpCompound report = Report(kA, milliseconds(1250));
  const auto& block = std::get<rtp::ReceiverReport>(report.packets[0]).report_blocks.at(0);
  EXPECT_EQ(block.last_sr, rtp::CompactNtp(ntp));
  // Held from its arrival (1000 ms) to the report (1250 ms), in 1/65536 s.
  EXPECT_NEAR(block.delay_since_last_sr / 65536.0, 0.250, 0.0001);
}

TEST_F(RtcpTerminatorTest, ReportsAreRandomisedAroundTheIntervalAndRepeatable) {
  // First report within 0.25..0.75 of the interval (RFC 3550 halves the first); then each
  // 0.5..1.5 intervals after the previous.
  RtcpTerminator first(2, Config());
  RtcpTerminator second(2, Config());
  first.Add(0, 1, kRate, At({}));
  second.Add(0, 1, kRate, At({}));
  std::vector<uint8_t> out(first.MaxReportBytes());
  Clock::Duration now{};
  std::vector<Clock::Duration> due_first;
  std::vector<Clock::Duration> due_second;
  for (RtcpTerminator* t : {&first, &second}) {
    std::vector<Clock::Duration>& due = t == &first ? due_first : due_second;
    now = {};
    for (int reports = 0; reports < 400;) {
      now += milliseconds(1);
      if (!t->ReportDue(0, At(now))) continue;
      due.push_back(now);
      ASSERT_GT(t->WriteReport(0, {}, At(now), WallAt(now), out), 0u);
      ++reports;
    }
  }
  EXPECT_EQ(due_first, due_second);  // same seed, same schedule
  EXPECT_GE(due_first[0], milliseconds(250));
  EXPECT_LE(due_first[0], milliseconds(751));
  Clock::Duration shortest = Clock::Duration::max();
  Clock::Duration longest{};
  for (size_t i = 1; i < due_first.size(); ++i) {
    shortest = std::min(shortest, due_first[i] - due_first[i - 1]);
    longest = std::max(longest, due_first[i] - due_first[i - 1]);
  }
  EXPECT_GE(shortest, milliseconds(500));
  EXPECT_LE(longest, milliseconds(1501));
  const double mean_s =
      std::chrono::duration<double>(due_first.back() - due_first.front()).count() /
      static_cast<double>(due_first.size() - 1);
  EXPECT_NEAR(mean_s, 1.0, 0.05);
}

TEST_F(RtcpTerminatorTest, ARemovedParticipantIsForgotten) {
  Send(kA, kSsrcA, 0, 100, 10);
  (void)Report(kA, milliseconds(2100));
  ASSERT_TRUE(terminator.link_stats(kA).has_uplink);
  terminator.Remove(kA);
  EXPECT_FALSE(terminator.ReportDue(kA, At(std::chrono::hours(1))));
  const LinkStats gone = terminator.link_stats(kA);
  EXPECT_FALSE(gone.has_uplink);
  EXPECT_EQ(gone.reports_sent, 0u);
}

TEST(RtcpTerminatorConfigTest, RefusesOutOfRangeSettings) {
  RtcpTerminatorConfig config;
  config.report_interval = milliseconds(50);
  EXPECT_THROW(RtcpTerminator(4, config), std::invalid_argument);
  config = {};
  config.cname = "";
  EXPECT_THROW(RtcpTerminator(4, config), std::invalid_argument);
  config.cname = std::string(256, 'x');
  EXPECT_THROW(RtcpTerminator(4, config), std::invalid_argument);
  // SSRC 0 draws one from the seed: never 0, the same for the same seed.
  EXPECT_NE(RtcpTerminator(4).relay_ssrc(), 0u);
  EXPECT_EQ(RtcpTerminator(4).relay_ssrc(), RtcpTerminator(4).relay_ssrc());
}

}  // namespace
}  // namespace parley::relay
