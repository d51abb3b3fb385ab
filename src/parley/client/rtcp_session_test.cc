#include "parley/client/rtcp_session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <variant>
#include <vector>

#include "parley/base/random.h"
#include "parley/rtp/ntp_time.h"

namespace parley::client {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr int kRate = 48000;
constexpr milliseconds kPacketInterval{20};
constexpr uint32_t kTicksPerPacket = 960;  // 20 ms at 48 kHz
constexpr size_t kPayloadBytes = 60;
constexpr uint32_t kSsrcA = 0xA1A1A1A1;
constexpr uint32_t kSsrcB = 0xB2B2B2B2;

RtcpSessionConfig ConfigFor(uint32_t ssrc, uint64_t seed) {
  RtcpSessionConfig config;
  config.ssrc = ssrc;
  config.cname = "endpoint-" + std::to_string(ssrc);
  config.seed = seed;
  return config;
}

// One direction of the simulated link: a fixed delay, an optional extra delay per RTP
// packet, and every n-th RTP packet lost. RTCP is delayed the same and never lost.
struct Direction {
  milliseconds delay{40};
  int lose_every = 0;               // 0: nothing lost; n: RTP packets n-1, 2n-1, ... lost
  milliseconds odd_extra_delay{0};  // added to every other RTP packet (jitter)
};

// An endpoint of the simulation: an RtcpSession and the RTP stream it sends.
struct Endpoint {
  Endpoint(const Clock& clock, uint32_t ssrc_in, uint64_t seed)
      : ssrc(ssrc_in), session(clock, ConfigFor(ssrc_in, seed)) {}
  uint32_t ssrc;
  RtcpSession session;
  bool sending = true;
  uint16_t sequence = 0xFFF0;       // wraps within the first second
  uint32_t timestamp = 0xFFFF0000;  // wraps too
  uint64_t packets_sent = 0;
  struct Report {
    Clock::TimePoint at;
    Clock::WallTime wall;
    uint64_t packets_sent;
    std::vector<uint8_t> bytes;
  };
  std::vector<Report> reports;
};

// Two endpoints back to back through a simulated link, on a simulated clock stepped 1 ms
// at a time. RTP goes out every 20 ms (60-byte payloads); a report goes out when due.
class Simulation {
 public:
  Simulation(uint64_t seed_a = 1, uint64_t seed_b = 2)
      : a(clock, kSsrcA, seed_a), b(clock, kSsrcB, seed_b) {
    a.session.Start(clock.Now());
    b.session.Start(clock.Now());
  }

  void Run(nanoseconds duration) {
    const Clock::TimePoint end = clock.Now() + duration;
    while (clock.Now() < end) {
      Deliver();
      Send(a, b, a_to_b, a_rtp_index_);
      Send(b, a, b_to_a, b_rtp_index_);
      clock.Advance(milliseconds(1));
    }
  }

  SimulatedClock clock;
  Endpoint a;
  Endpoint b;
  Direction a_to_b;
  Direction b_to_a;

 private:
  struct InFlight {
    Clock::TimePoint at;
    Endpoint* to;
    bool rtcp;
    uint32_t ssrc;
    uint16_t sequence;
    uint32_t timestamp;
    std::vector<uint8_t> bytes;
  };

  void Send(Endpoint& from, Endpoint& to, const Direction& direction, uint64_t& rtp_index) {
    const Clock::TimePoint now = clock.Now();
    if (from.sending && (now - Clock::TimePoint{}) % kPacketInterval == nanoseconds(0)) {
      from.session.OnRtpSent(from.timestamp, kPayloadBytes, now);
      ++from.packets_sent;
      const uint64_t index = rtp_index++;
      const bool lost =
          direction.lose_every > 0 && index % static_cast<uint64_t>(direction.lose_every) ==
                                          static_cast<uint64_t>(direction.lose_every - 1);
      if (!lost) {
        const milliseconds extra = index % 2 == 1 ? direction.odd_extra_delay : milliseconds(0);
        in_flight_.push_back({now + direction.delay + extra,
                              &to,
                              false,
                              from.ssrc,
                              from.sequence,
                              from.timestamp,
                              {}});
      }
      ++from.sequence;
      from.timestamp += kTicksPerPacket;
    }
    const auto report = from.session.ReportDue(now);
    if (!report.empty()) {
      from.reports.push_back(
          {now, clock.WallNow(), from.packets_sent, {report.begin(), report.end()}});
      in_flight_.push_back(
          {now + direction.delay, &to, true, 0, 0, 0, {report.begin(), report.end()}});
    }
  }

  void Deliver() {
    const Clock::TimePoint now = clock.Now();
    std::stable_sort(in_flight_.begin(), in_flight_.end(),
                     [](const InFlight& x, const InFlight& y) { return x.at < y.at; });
    size_t delivered = 0;
    for (; delivered < in_flight_.size() && in_flight_[delivered].at <= now; ++delivered) {
      InFlight& packet = in_flight_[delivered];
      if (packet.rtcp) {
        EXPECT_TRUE(packet.to->session.OnRtcpReceived(packet.bytes, now));
      } else {
        packet.to->session.OnRtpReceived(packet.ssrc, packet.sequence, packet.timestamp, kRate,
                                         now);
      }
    }
    in_flight_.erase(in_flight_.begin(), in_flight_.begin() + static_cast<ptrdiff_t>(delivered));
  }

  std::vector<InFlight> in_flight_;
  uint64_t a_rtp_index_ = 0;
  uint64_t b_rtp_index_ = 0;
};

rtp::RtcpCompound Parse(const std::vector<uint8_t>& bytes) {
  auto parsed = rtp::ParseRtcpCompound(bytes);
  if (!parsed) throw std::runtime_error(parsed.error().message);
  return std::move(parsed).value();
}

std::vector<uint8_t> Write(const rtp::RtcpCompound& compound) {
  std::vector<uint8_t> bytes(rtp::RtcpCompoundSize(compound));
  auto written = rtp::WriteRtcpCompound(compound, bytes);
  if (!written) throw std::runtime_error(written.error().message);
  return bytes;
}

TEST(RtcpSessionTest, TwoEndpointsMeasureDelayAndLossOfTheLinkBetweenThem) {
  Simulation sim;
  sim.a_to_b.lose_every = 10;
  sim.b_to_a.lose_every = 10;
  sim.Run(seconds(20));

  for (const Endpoint* end : {&sim.a, &sim.b}) {
    SCOPED_TRACE(end == &sim.a ? "a" : "b");
    const RtcpSessionStats stats = end->session.stats();
    // 40 ms each way; compact NTP's 1/65536 s is the only error.
    EXPECT_GE(stats.rtt_samples, 10u);
    EXPECT_NEAR(stats.rtt_ms, 80.0, 2.0);
    EXPECT_NEAR(stats.smoothed_rtt_ms, 80.0, 2.0);
    // Only the far end's first blocks, made before our first SR reached it, lack an LSR.
    EXPECT_LE(stats.unmatched_lsr, 2u);
    // Every tenth packet lost each way.
    ASSERT_TRUE(stats.uplink.reported);
    EXPECT_NEAR(stats.uplink.loss_percent, 10.0, 1.0);
    EXPECT_NEAR(stats.uplink.fraction_lost_percent, 10.0, 5.0);  // one ~1 s interval
    // 1000 packets sent, 100 lost; the last report is up to 1.5 s old.
    EXPECT_GE(stats.uplink.cumulative_lost, 85);
    EXPECT_LE(stats.uplink.cumulative_lost, 100);
    EXPECT_NEAR(stats.uplink.jitter_ms, 0.0, 0.01);
    ASSERT_EQ(stats.downlinks.size(), 1u);
    EXPECT_EQ(stats.downlinks[0].ssrc, end == &sim.a ? kSsrcB : kSsrcA);
    EXPECT_NEAR(stats.downlinks[0].loss_percent, 10.0, 1.0);
    EXPECT_NEAR(stats.downlinks[0].fraction_lost_percent, 10.0, 5.0);
    EXPECT_NEAR(stats.downlinks[0].jitter_ms, 0.0, 0.01);
    EXPECT_TRUE(stats.downlinks[0].sender_report_received);
    // About one report a second, each received at the other end.
    EXPECT_GE(stats.reports_sent, 16u);
    EXPECT_LE(stats.reports_sent, 25u);
    EXPECT_EQ(stats.sender_reports_sent, stats.reports_sent);
    EXPECT_EQ(stats.malformed, 0u);
    const std::string name = end == &sim.a ? "a" : "b";
    RecordProperty(name + "_rtt_ms", std::to_string(stats.rtt_ms));
    RecordProperty(name + "_uplink_loss_percent", std::to_string(stats.uplink.loss_percent));
    RecordProperty(name + "_downlink_loss_percent",
                   std::to_string(stats.downlinks[0].loss_percent));
  }
  // Each report reaches the other end (the last may still be in flight).
  const uint64_t received = sim.a.session.stats().reports_received;
  EXPECT_LE(received, sim.b.reports.size());
  EXPECT_GE(received + 1, sim.b.reports.size());
}

TEST(RtcpSessionTest, JitterOfAKnownPatternIsMeasuredAndReportedBack) {
  // a's packets alternate between 40 and 50 ms in flight: each transit differs from the
  // previous one by 10 ms, so A.8's jitter tends to 10 ms. b's packets are steady.
  Simulation sim;
  sim.a_to_b.odd_extra_delay = milliseconds(10);
  sim.Run(seconds(10));
  const RtcpSessionStats a = sim.a.session.stats();
  const RtcpSessionStats b = sim.b.session.stats();
  ASSERT_EQ(b.downlinks.size(), 1u);
  EXPECT_NEAR(b.downlinks[0].jitter_ms, 10.0, 0.1);
  EXPECT_NEAR(a.uplink.jitter_ms, 10.0, 0.1);  // as b reported it, in whole RTP units
  ASSERT_EQ(a.downlinks.size(), 1u);
  EXPECT_NEAR(a.downlinks[0].jitter_ms, 0.0, 0.01);
  EXPECT_NEAR(b.uplink.jitter_ms, 0.0, 0.01);
  // The extra delay of every other packet shifts RTCP by nothing: RTT stays 80 ms.
  EXPECT_NEAR(a.rtt_ms, 80.0, 2.0);
  EXPECT_NEAR(b.uplink.loss_percent, 0.0, 0.01);
}

TEST(RtcpSessionTest, SenderReportsCarryCoherentTimestampsAndCounts) {
  Simulation sim;
  const uint32_t first_timestamp = sim.a.timestamp;
  sim.Run(seconds(5));
  ASSERT_GE(sim.a.reports.size(), 3u);
  std::optional<rtp::SenderInfo> previous;
  for (const Endpoint::Report& report : sim.a.reports) {
    const rtp::RtcpCompound compound = Parse(report.bytes);
    ASSERT_EQ(compound.packets.size(), 2u);
    const auto* sr = std::get_if<rtp::SenderReport>(&compound.packets[0]);
    ASSERT_NE(sr, nullptr);
    EXPECT_EQ(sr->ssrc, kSsrcA);
    const rtp::SenderInfo& info = sr->sender_info;
    // NTP: the wall clock when the report was made.
    EXPECT_EQ(info.ntp_timestamp, rtp::WallTimeToNtp(report.wall));
    // RTP: the media clock at that instant (packets every 20 ms from time 0, 48 per ms).
    const int64_t ms =
        std::chrono::duration_cast<milliseconds>(report.at - Clock::TimePoint{}).count();
    EXPECT_EQ(info.rtp_timestamp, first_timestamp + static_cast<uint32_t>(ms * 48));
    EXPECT_EQ(info.packet_count, report.packets_sent);
    EXPECT_EQ(info.octet_count, report.packets_sent * kPayloadBytes);
    if (previous) {
      // Media clock and wall clock advance together: 48000 RTP units per NTP second.
      const double ntp_seconds =
          static_cast<double>(info.ntp_timestamp - previous->ntp_timestamp) / 4294967296.0;
      const double rtp_units = static_cast<uint32_t>(info.rtp_timestamp - previous->rtp_timestamp);
      EXPECT_NEAR(rtp_units / ntp_seconds, kRate, 1.0);
    }
    previous = info;
    const auto* sdes = std::get_if<rtp::SourceDescription>(&compound.packets[1]);
    ASSERT_NE(sdes, nullptr);
    ASSERT_EQ(sdes->chunks.size(), 1u);
    EXPECT_EQ(sdes->chunks[0].ssrc, kSsrcA);
    ASSERT_EQ(sdes->chunks[0].items.size(), 1u);
    EXPECT_EQ(sdes->chunks[0].items[0].type, rtp::SdesType::kCname);
    EXPECT_EQ(sdes->chunks[0].items[0].text, sim.a.session.config().cname);
  }
  // Every report after the first carries one block, about b, with b's last SR.
  const rtp::RtcpCompound last = Parse(sim.a.reports.back().bytes);
  const auto& blocks = std::get<rtp::SenderReport>(last.packets[0]).report_blocks;
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].ssrc, kSsrcB);
  EXPECT_NE(blocks[0].last_sr, 0u);
}

TEST(RtcpSessionTest, AnEndpointThatSendsNothingStillReportsWithReceiverReports) {
  Simulation sim;
  sim.b.sending = false;
  sim.a_to_b.lose_every = 10;
  sim.Run(seconds(10));
  ASSERT_GE(sim.b.reports.size(), 5u);
  for (const Endpoint::Report& report : sim.b.reports) {
    const rtp::RtcpCompound compound = Parse(report.bytes);
    const auto* rr = std::get_if<rtp::ReceiverReport>(&compound.packets[0]);
    ASSERT_NE(rr, nullptr);
    EXPECT_EQ(rr->ssrc, kSsrcB);
    EXPECT_TRUE(std::holds_alternative<rtp::SourceDescription>(compound.packets[1]));
  }
  const RtcpSessionStats a = sim.a.session.stats();
  const RtcpSessionStats b = sim.b.session.stats();
  // a sends SRs and hears b's RRs about its stream: RTT and uplink loss.
  EXPECT_NEAR(a.rtt_ms, 80.0, 2.0);
  EXPECT_NEAR(a.uplink.loss_percent, 10.0, 1.0);
  EXPECT_EQ(a.uplink.reporter_ssrc, kSsrcB);
  EXPECT_TRUE(a.downlinks.empty());
  // b hears a, sends no SR, so nobody can echo one: no RTT.
  EXPECT_EQ(b.sender_reports_sent, 0u);
  EXPECT_EQ(b.rtt_samples, 0u);
  EXPECT_FALSE(b.uplink.reported);
  ASSERT_EQ(b.downlinks.size(), 1u);
  EXPECT_NEAR(b.downlinks[0].loss_percent, 10.0, 1.0);

  // a stops sending: the report before last still saw RTP, then RRs only (RFC 3550 A.7).
  sim.a.sending = false;
  const size_t before = sim.a.reports.size();
  sim.Run(seconds(6));
  ASSERT_GE(sim.a.reports.size(), before + 3);
  EXPECT_TRUE(
      std::holds_alternative<rtp::SenderReport>(Parse(sim.a.reports[before].bytes).packets[0]));
  for (size_t i = before + 2; i < sim.a.reports.size(); ++i) {
    EXPECT_TRUE(
        std::holds_alternative<rtp::ReceiverReport>(Parse(sim.a.reports[i].bytes).packets[0]))
        << "report " << i;
  }
}

TEST(RtcpSessionTest, ReportsFollowTheRelaysCompoundAndEchoItsSenderReports) {
  // The relay's packet to a: an RR of its own SSRC about a's stream, echoing a's SR, then
  // one SR per other publisher with that publisher's SSRC, then its CNAME.
  SimulatedClock clock;
  RtcpSession a(clock, ConfigFor(kSsrcA, 3));
  a.Start(clock.Now());
  constexpr uint32_t kRelay = 0x0000AE1A;
  constexpr uint32_t kP1 = 0x11111111;
  constexpr uint32_t kP2 = 0x22222222;
  for (int i = 0; i < 10; ++i) {
    a.OnRtpSent(960u * static_cast<uint32_t>(i), kPayloadBytes, clock.Now());
    a.OnRtpReceived(kP1, static_cast<uint16_t>(100 + i), 960u * static_cast<uint32_t>(i), kRate,
                    clock.Now());
    a.OnRtpReceived(kP2, static_cast<uint16_t>(7 + i), 960u * static_cast<uint32_t>(i), kRate,
                    clock.Now());
    clock.Advance(kPacketInterval);
  }
  clock.Advance(milliseconds(600));
  const auto first = a.ReportDue(clock.Now());
  ASSERT_FALSE(first.empty());
  const rtp::SenderReport our_sr =
      std::get<rtp::SenderReport>(Parse({first.begin(), first.end()}).packets[0]);
  EXPECT_EQ(our_sr.report_blocks.size(), 2u);

  clock.Advance(milliseconds(30));  // the SR reaches the relay
  const uint64_t relay_ntp = rtp::WallTimeToNtp(clock.WallNow());
  rtp::ReportBlock about_a;
  about_a.ssrc = kSsrcA;
  about_a.fraction_lost = 26;  // ~10 %
  about_a.cumulative_lost = 1;
  about_a.extended_highest_sequence = 10;
  about_a.jitter = 96;  // 2 ms at 48 kHz
  about_a.last_sr = rtp::CompactNtp(our_sr.sender_info.ntp_timestamp);
  about_a.delay_since_last_sr = rtp::DurationToCompactNtp(milliseconds(5));  // held 5 ms
  clock.Advance(milliseconds(5));
  rtp::RtcpCompound relay;
  relay.packets.emplace_back(rtp::ReceiverReport{kRelay, {about_a}, {}});
  relay.packets.emplace_back(rtp::SenderReport{kP1, {relay_ntp, 4321, 50, 3000}, {}, {}});
  relay.packets.emplace_back(rtp::SenderReport{kP2, {relay_ntp, 8765, 50, 3000}, {}, {}});
  relay.packets.emplace_back(
      rtp::SourceDescription{{{kRelay, {{rtp::SdesType::kCname, "relay"}}}}});
  clock.Advance(milliseconds(30));  // back to a
  ASSERT_TRUE(a.OnRtcpReceived(Write(relay), clock.Now()));

  const RtcpSessionStats stats = a.stats();
  EXPECT_EQ(stats.rtt_samples, 1u);
  EXPECT_NEAR(stats.rtt_ms, 60.0, 0.1);  // 30 + 30 ms; the 5 ms held is DLSR
  EXPECT_EQ(stats.uplink.reporter_ssrc, kRelay);
  EXPECT_NEAR(stats.uplink.fraction_lost_percent, 26 * 100.0 / 256, 1e-9);
  EXPECT_EQ(stats.uplink.cumulative_lost, 1);
  EXPECT_NEAR(stats.uplink.jitter_ms, 2.0, 1e-9);
  ASSERT_EQ(stats.downlinks.size(), 2u);
  EXPECT_TRUE(stats.downlinks[0].sender_report_received);
  EXPECT_TRUE(stats.downlinks[1].sender_report_received);

  // Our next report: one block per publisher, each echoing the relay's SR for it.
  for (int i = 10; i < 20; ++i) {
    a.OnRtpSent(960u * static_cast<uint32_t>(i), kPayloadBytes, clock.Now());
    a.OnRtpReceived(kP1, static_cast<uint16_t>(100 + i), 960u * static_cast<uint32_t>(i), kRate,
                    clock.Now());
    a.OnRtpReceived(kP2, static_cast<uint16_t>(7 + i), 960u * static_cast<uint32_t>(i), kRate,
                    clock.Now());
    clock.Advance(kPacketInterval);
  }
  const Clock::TimePoint due = *a.next_report_time();
  clock.Advance(due - clock.Now());
  const auto second = a.ReportDue(clock.Now());
  ASSERT_FALSE(second.empty());
  const rtp::RtcpCompound ours = Parse({second.begin(), second.end()});
  const auto& sr = std::get<rtp::SenderReport>(ours.packets[0]);
  EXPECT_EQ(sr.ssrc, kSsrcA);  // the relay drops RTCP whose sender SSRC is not ours
  ASSERT_EQ(sr.report_blocks.size(), 2u);
  EXPECT_EQ(sr.report_blocks[0].ssrc, kP1);
  EXPECT_EQ(sr.report_blocks[1].ssrc, kP2);
  for (const rtp::ReportBlock& block : sr.report_blocks) {
    EXPECT_EQ(block.last_sr, rtp::CompactNtp(relay_ntp));
    EXPECT_EQ(block.fraction_lost, 0);
    EXPECT_EQ(block.cumulative_lost, 0);
  }
}

TEST(RtcpSessionTest, AnSrBeforeAnyRtpIsStillEchoed) {
  SimulatedClock clock;
  RtcpSession a(clock, ConfigFor(kSsrcA, 4));
  a.Start(clock.Now());
  const uint64_t ntp = rtp::WallTimeToNtp(clock.WallNow());
  rtp::RtcpCompound from_b;
  from_b.packets.emplace_back(rtp::SenderReport{kSsrcB, {ntp, 0, 0, 0}, {}, {}});
  ASSERT_TRUE(a.OnRtcpReceived(Write(from_b), clock.Now()));
  for (int i = 0; i < 20; ++i) {
    clock.Advance(kPacketInterval);
    a.OnRtpReceived(kSsrcB, static_cast<uint16_t>(i), 960u * static_cast<uint32_t>(i), kRate,
                    clock.Now());
  }
  if (*a.next_report_time() > clock.Now()) clock.Advance(*a.next_report_time() - clock.Now());
  const auto report = a.ReportDue(clock.Now());
  ASSERT_FALSE(report.empty());
  const auto rr = std::get<rtp::ReceiverReport>(Parse({report.begin(), report.end()}).packets[0]);
  ASSERT_EQ(rr.report_blocks.size(), 1u);
  EXPECT_EQ(rr.report_blocks[0].last_sr, rtp::CompactNtp(ntp));
  EXPECT_EQ(rr.report_blocks[0].delay_since_last_sr,
            rtp::DurationToCompactNtp(clock.Now() - Clock::TimePoint{}));
}

TEST(RtcpSessionTest, ABlockWhoseLsrIsNoSrOfOursGivesNoRtt) {
  SimulatedClock clock;
  RtcpSession a(clock, ConfigFor(kSsrcA, 5));
  rtp::ReportBlock block;
  block.ssrc = kSsrcA;
  block.last_sr = 0x12345678;
  block.delay_since_last_sr = 100;
  rtp::RtcpCompound rr;
  rr.packets.emplace_back(rtp::ReceiverReport{kSsrcB, {block}, {}});
  ASSERT_TRUE(a.OnRtcpReceived(Write(rr), clock.Now()));
  block.last_sr = 0;  // "no SR received yet"
  rr.packets[0] = rtp::ReceiverReport{kSsrcB, {block}, {}};
  ASSERT_TRUE(a.OnRtcpReceived(Write(rr), clock.Now()));
  const RtcpSessionStats stats = a.stats();
  EXPECT_EQ(stats.rtt_samples, 0u);
  EXPECT_EQ(stats.unmatched_lsr, 2u);
  EXPECT_TRUE(stats.uplink.reported);
  EXPECT_EQ(stats.uplink.blocks, 2u);
}

TEST(RtcpSessionTest, MalformedRtcpIsCountedAndNeverUsed) {
  SimulatedClock clock;
  RtcpSession a(clock, ConfigFor(kSsrcA, 6));
  const std::vector<std::vector<uint8_t>> bad = {
      {},                             // empty
      {0x80, 201, 0},                 // cut header
      {0x40, 201, 0, 1, 0, 0, 0, 2},  // version 1
      {0x80, 201, 0, 9, 0, 0, 0, 2},  // length past the end
      {0x81, 200, 0, 1, 0, 0, 0, 2},  // SR too short for sender info and a block
      {0x80, 202, 0, 1, 0, 0, 0, 2},  // SDES first: not a compound
  };
  for (const auto& datagram : bad) {
    const Status status = a.OnRtcpReceived(datagram, clock.Now());
    EXPECT_FALSE(status);
  }
  // Noise with an RTCP-looking first two bytes: refused or used, never a crash.
  Random random(42);
  int refused = 0;
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> noise(static_cast<size_t>(random.UniformInt(0, 120)));
    for (uint8_t& byte : noise) byte = static_cast<uint8_t>(random.UniformInt(0, 255));
    if (noise.size() >= 2) {
      noise[0] = static_cast<uint8_t>(0x80 | (noise[0] & 0x3F));
      noise[1] = static_cast<uint8_t>(200 + random.UniformInt(0, 1));
    }
    if (!a.OnRtcpReceived(noise, clock.Now())) ++refused;
  }
  const RtcpSessionStats stats = a.stats();
  EXPECT_EQ(stats.malformed, bad.size() + static_cast<size_t>(refused));
  EXPECT_EQ(stats.reports_received, 2000u - static_cast<uint64_t>(refused));
  EXPECT_GT(refused, 1000);
}

TEST(RtcpSessionTest, ReportTimesAreRandomisedWithinHalfToOneAndAHalfIntervals) {
  auto schedule = [](uint64_t seed) {
    SimulatedClock clock;
    RtcpSession session(clock, ConfigFor(kSsrcA, seed));
    EXPECT_TRUE(session.ReportDue(clock.Now()).empty());  // not started
    session.Start(clock.Now());
    std::vector<Clock::TimePoint> times;
    for (int i = 0; i < 300; ++i) {
      const Clock::TimePoint due = *session.next_report_time();
      clock.Advance(due - clock.Now() - nanoseconds(1));
      EXPECT_TRUE(session.ReportDue(clock.Now()).empty());  // not yet
      clock.Advance(nanoseconds(1));
      EXPECT_FALSE(session.ReportDue(clock.Now()).empty());
      times.push_back(clock.Now());
    }
    return times;
  };
  const auto times = schedule(7);
  // The first report: half an interval, randomised.
  EXPECT_GE(times[0] - Clock::TimePoint{}, milliseconds(250));
  EXPECT_LE(times[0] - Clock::TimePoint{}, milliseconds(750));
  nanoseconds shortest = seconds(10);
  nanoseconds longest{0};
  nanoseconds total{0};
  for (size_t i = 1; i < times.size(); ++i) {
    const nanoseconds interval = times[i] - times[i - 1];
    EXPECT_GE(interval, milliseconds(500));
    EXPECT_LE(interval, milliseconds(1500));
    shortest = std::min(shortest, interval);
    longest = std::max(longest, interval);
    total += interval;
  }
  // The whole range is used, around a 1 s mean (299 draws of U[0.5, 1.5]: sigma 17 ms).
  EXPECT_LT(shortest, milliseconds(550));
  EXPECT_GT(longest, milliseconds(1450));
  EXPECT_NEAR(std::chrono::duration<double>(total).count() / 299.0, 1.0, 0.05);
  // Deterministic for a seed; another seed gives another schedule.
  EXPECT_EQ(schedule(7), times);
  EXPECT_NE(schedule(8), times);
}

TEST(RtcpSessionTest, SilentOrRemovedPeersAreNoLongerReported) {
  Simulation sim;
  sim.Run(seconds(3));
  sim.b.sending = false;
  sim.Run(seconds(3));
  // b's stream stopped: a's latest report has no block about it, but a still knows it.
  const auto last = std::get<rtp::SenderReport>(Parse(sim.a.reports.back().bytes).packets[0]);
  EXPECT_TRUE(last.report_blocks.empty());
  ASSERT_EQ(sim.a.session.stats().downlinks.size(), 1u);
  // Known until source_timeout after its last RTP or SR; removing it forgets it at once.
  EXPECT_TRUE(sim.a.session.RemoveSource(kSsrcB));
  EXPECT_FALSE(sim.a.session.RemoveSource(kSsrcB));
  EXPECT_TRUE(sim.a.session.stats().downlinks.empty());
}

TEST(RtcpSessionTest, APeerSilentForTheTimeoutIsForgotten) {
  SimulatedClock clock;
  RtcpSessionConfig config = ConfigFor(kSsrcA, 9);
  config.source_timeout = seconds(5);
  RtcpSession a(clock, config);
  a.Start(clock.Now());
  for (int i = 0; i < 10; ++i) {
    a.OnRtpReceived(kSsrcB, static_cast<uint16_t>(i), 960u * static_cast<uint32_t>(i), kRate,
                    clock.Now());
    clock.Advance(kPacketInterval);
  }
  clock.Advance(seconds(4));
  (void)a.ReportDue(clock.Now());
  EXPECT_EQ(a.stats().downlinks.size(), 1u);
  clock.Advance(seconds(2));
  (void)a.ReportDue(clock.Now());
  EXPECT_TRUE(a.stats().downlinks.empty());
}

TEST(RtcpSessionTest, PeersBeyondTheBoundAreRefusedAndOwnSsrcIgnored) {
  SimulatedClock clock;
  RtcpSessionConfig config = ConfigFor(kSsrcA, 10);
  config.max_sources = 2;
  RtcpSession a(clock, config);
  for (uint32_t ssrc : {1u, 2u, 3u, kSsrcA}) a.OnRtpReceived(ssrc, 1, 0, kRate, clock.Now());
  const RtcpSessionStats stats = a.stats();
  ASSERT_EQ(stats.downlinks.size(), 2u);
  EXPECT_EQ(stats.downlinks[0].ssrc, 1u);
  EXPECT_EQ(stats.downlinks[1].ssrc, 2u);
  EXPECT_EQ(stats.sources_refused, 1u);
}

TEST(RtcpSessionTest, RejectsConfigsOutOfRange) {
  SimulatedClock clock;
  auto with = [](auto change) {
    RtcpSessionConfig config = ConfigFor(kSsrcA, 1);
    change(config);
    return config;
  };
  EXPECT_THROW(RtcpSession(clock, with([](auto& c) { c.clock_rate_hz = 0; })),
               std::invalid_argument);
  EXPECT_THROW(RtcpSession(clock, with([](auto& c) { c.cname = ""; })), std::invalid_argument);
  EXPECT_THROW(RtcpSession(clock, with([](auto& c) { c.cname = std::string(256, 'x'); })),
               std::invalid_argument);
  EXPECT_THROW(RtcpSession(clock, with([](auto& c) { c.report_interval = milliseconds(0); })),
               std::invalid_argument);
  EXPECT_THROW(RtcpSession(clock, with([](auto& c) { c.max_sources = 0; })), std::invalid_argument);
  EXPECT_THROW(RtcpSession(clock, with([](auto& c) { c.source_timeout = milliseconds(0); })),
               std::invalid_argument);
  EXPECT_THROW(RtcpSession(clock, with([](auto& c) { c.rtt_smoothing = 0; })),
               std::invalid_argument);
  // The largest report fits its buffer: 31 blocks and a 255-byte CNAME.
  RtcpSession big(clock, with([](auto& c) { c.cname = std::string(255, 'x'); }));
  big.Start(clock.Now());
  for (uint32_t ssrc = 1; ssrc <= 40; ++ssrc) {
    for (uint16_t seq = 0; seq < 3; ++seq) big.OnRtpReceived(ssrc, seq, 0, kRate, clock.Now());
  }
  big.OnRtpSent(0, kPayloadBytes, clock.Now());
  clock.Advance(seconds(1));
  const auto report = big.ReportDue(clock.Now());
  ASSERT_FALSE(report.empty());
  EXPECT_LE(report.size(), kMaxRtcpReportBytes);
  EXPECT_EQ(std::get<rtp::SenderReport>(Parse({report.begin(), report.end()}).packets[0])
                .report_blocks.size(),
            31u);
}

}  // namespace
}  // namespace parley::client
