#include "parley/client/media_receiver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <vector>

#include "parley/client/media_sender.h"
#include "parley/client/rtcp_session.h"
#include "parley/relay/hello.h"
#include "parley/rtp/ntp_time.h"
#include "parley/rtp/rtcp_packet.h"
#include "parley/rtp/srtp_session.h"
#include "parley/testing/signals.h"

namespace parley::client {
namespace {

using std::chrono::milliseconds;

constexpr int kRate = 48000;

// One peer's stream: a tone encoded as the client sends it.
class Stream {
 public:
  Stream(uint32_t ssrc, double frequency_hz, double amplitude, double seconds = 3.0,
         uint16_t first_sequence = 0, uint32_t first_timestamp = 0) {
    audio::AudioFrame tone({kRate, 1}, testing::Tone(frequency_hz, kRate, seconds, amplitude));
    auto sender = MediaSender::FromAudio(tone, {.profile = "studio",
                                                .ssrc = ssrc,
                                                .first_sequence = first_sequence,
                                                .first_timestamp = first_timestamp});
    if (!sender) throw std::runtime_error(sender.error().message);
    sender_ = std::move(sender).value();
  }
  // The next 20 ms packet.
  std::vector<uint8_t> Next() {
    auto size = sender_->NextPacket(buffer_);
    if (!size) throw std::runtime_error(size.error().message);
    return {buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(*size)};
  }

 private:
  std::unique_ptr<MediaSender> sender_;
  std::array<uint8_t, kMaxRtpPacketBytes> buffer_{};
};

class CountingSink final : public MixSink {
 public:
  void OnMix(std::span<const int16_t> block) override {
    ++blocks;
    samples.insert(samples.end(), block.begin(), block.end());
  }
  int blocks = 0;
  std::vector<int16_t> samples;
};

// Amplitude of the `frequency_hz` component of `x` (a single-bin DFT), full scale = 32768.
double ToneAmplitude(std::span<const int16_t> x, double frequency_hz) {
  double re = 0;
  double im = 0;
  for (size_t n = 0; n < x.size(); ++n) {
    const double phase = 2 * std::numbers::pi * frequency_hz * static_cast<double>(n) / kRate;
    re += x[n] * std::cos(phase);
    im += x[n] * std::sin(phase);
  }
  return 2 * std::hypot(re, im) / static_cast<double>(x.size()) / 32768.0;
}

// Feeds every stream one packet per 20 ms and pulls two 10 ms blocks, for `packets` rounds.
void Drive(MediaReceiver& receiver, SimulatedClock& clock, std::vector<Stream*> streams,
           int packets) {
  std::vector<int16_t> block(static_cast<size_t>(receiver.block_frames()));
  for (int i = 0; i < packets; ++i) {
    for (Stream* stream : streams) (void)receiver.OnDatagram(stream->Next());
    for (int half = 0; half < 2; ++half) {
      receiver.Pull10ms(block);
      clock.Advance(milliseconds(10));
    }
  }
}

TEST(MediaReceiverTest, MixesEveryPeerButNotItself) {
  SimulatedClock clock;
  CountingSink sink;
  MediaReceiver receiver(clock, {.own_ssrc = 1}, &sink);
  Stream own(1, 2500.0, 0.3);
  Stream alice(2, 440.0, 0.3);
  Stream bob(3, 1000.0, 0.3);
  EXPECT_EQ(receiver.OnDatagram(own.Next()), MediaReceiver::Verdict::kOwnSsrc);
  EXPECT_EQ(receiver.OnDatagram(alice.Next()), MediaReceiver::Verdict::kPlayed);
  EXPECT_EQ(receiver.OnDatagram(bob.Next()), MediaReceiver::Verdict::kPlayed);
  Drive(receiver, clock, {&own, &alice, &bob}, 100);  // 2 s

  EXPECT_EQ(receiver.peer_count(), 2u);
  EXPECT_EQ(receiver.counters().own_ssrc, 101u);
  EXPECT_EQ(receiver.counters().rtp_packets, 202u);
  EXPECT_EQ(sink.blocks, 200);
  ASSERT_EQ(sink.samples.size(), 200u * 480u);
  // The last second: both peers at their level (0.3 full scale, within 1 dB after Opus),
  // the participant's own tone absent (below -60 dBFS).
  const auto last_second = std::span<const int16_t>(sink.samples).last(kRate);
  EXPECT_NEAR(ToneAmplitude(last_second, 440.0), 0.3, 0.035);
  EXPECT_NEAR(ToneAmplitude(last_second, 1000.0), 0.3, 0.035);
  EXPECT_LT(ToneAmplitude(last_second, 2500.0), 0.001);
  EXPECT_EQ(receiver.counters().limited_blocks, 0u);

  const auto stats = receiver.peer_stats();
  ASSERT_EQ(stats.size(), 2u);
  for (const PeerStats& peer : stats) {
    EXPECT_EQ(peer.packets_received, 101u);
    EXPECT_EQ(peer.packets_lost, 0);
    EXPECT_EQ(peer.packets_rejected, 0u);
    EXPECT_GT(peer.playout.totalSamplesReceived, 0u);
    EXPECT_LT(peer.level_dbov, 20);  // a 0.3 sine is about -13 dBov
  }
}

// A peer's sender restarts mid-call with the same SSRC (a client that reconnects keeps its
// identity): its timestamps and sequence numbers start again from other values. The new
// audio is heard within 100 ms, and a single stray packet with a timestamp 10 s ahead
// changes nothing.
TEST(MediaReceiverTest, APeerThatRestartsIsHeardAgainAndAStrayPacketIsIgnored) {
  SimulatedClock clock;
  CountingSink sink;
  MediaReceiver receiver(clock, {.own_ssrc = 1}, &sink);
  Stream before(2, 440.0, 0.3, 4.0, 30000, 4'000'000'000u);
  Drive(receiver, clock, {&before}, 100);  // 2 s
  // One stray: the next packet's copy with its timestamp 10 s ahead.
  std::vector<uint8_t> stray = before.Next();
  const uint32_t ts =
      (uint32_t{stray[4]} << 24 | uint32_t{stray[5]} << 16 | uint32_t{stray[6]} << 8 | stray[7]) +
      480000;
  for (int i = 0; i < 4; ++i)
    stray[4 + static_cast<size_t>(i)] = static_cast<uint8_t>(ts >> (24 - 8 * i));
  EXPECT_EQ(receiver.OnDatagram(stray), MediaReceiver::Verdict::kPlayed);
  Drive(receiver, clock, {&before}, 50);  // 1 s
  const auto after_stray = std::span<const int16_t>(sink.samples).last(kRate);
  EXPECT_NEAR(ToneAmplitude(after_stray, 440.0), 0.3, 0.035);

  Stream after(2, 880.0, 0.3, 3.0, 7, 1000);  // restarted: lower timestamp, other sequence
  const size_t restart = sink.samples.size();
  Drive(receiver, clock, {&after}, 100);  // 2 s
  // Heard within 100 ms: the 880 Hz tone fills the block 100-120 ms after its first packet.
  const auto early = std::span<const int16_t>(sink.samples).subspan(restart + kRate / 10, 960);
  EXPECT_NEAR(ToneAmplitude(early, 880.0), 0.3, 0.06);
  const auto last_second = std::span<const int16_t>(sink.samples).last(kRate);
  EXPECT_NEAR(ToneAmplitude(last_second, 880.0), 0.3, 0.035);
  EXPECT_LT(ToneAmplitude(last_second, 440.0), 0.01);
  const auto stats = receiver.peer_stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].playout.new_timelines, 1u);
  EXPECT_EQ(stats[0].playout.stray_packets, 1u);
  EXPECT_EQ(stats[0].playout.late_packets, 0u);
}

TEST(MediaReceiverTest, ALoudSumIsLimitedNotClippedOrWrapped) {
  SimulatedClock clock;
  CountingSink sink;
  MediaReceiver receiver(clock, {.own_ssrc = 1}, &sink);
  Stream a(2, 500.0, 0.9);
  Stream b(3, 500.0, 0.9);  // in phase: the sum peaks at 1.8 full scale
  Drive(receiver, clock, {&a, &b}, 50);
  EXPECT_GT(receiver.counters().limited_blocks, 0u);
  const auto last = std::span<const int16_t>(sink.samples).last(kRate / 2);
  // Turned down below full scale (the limiter's ceiling), never stuck at the rails...
  EXPECT_LE(*std::max_element(last.begin(), last.end()), 27000);
  EXPECT_GE(*std::min_element(last.begin(), last.end()), -27000);
  // ...and the tone is still there, in phase with the senders (a wrap would scatter it),
  // at the ceiling's level: 27000 / 32768 = 0.82 full scale.
  EXPECT_NEAR(ToneAmplitude(last, 500.0), 0.82, 0.05);
}

TEST(MediaReceiverTest, PeersAreBoundedAndASlotFreesWhenOneLeaves) {
  SimulatedClock clock;
  MediaReceiver receiver(clock, {.own_ssrc = 1, .max_peers = 2});
  Stream a(2, 300.0, 0.2);
  Stream b(3, 400.0, 0.2);
  Stream c(4, 500.0, 0.2);
  EXPECT_EQ(receiver.OnDatagram(a.Next()), MediaReceiver::Verdict::kPlayed);
  EXPECT_EQ(receiver.OnDatagram(b.Next()), MediaReceiver::Verdict::kPlayed);
  EXPECT_EQ(receiver.OnDatagram(c.Next()), MediaReceiver::Verdict::kRefused);
  EXPECT_EQ(receiver.counters().peers_refused, 1u);
  EXPECT_TRUE(receiver.RemovePeer(2));
  EXPECT_FALSE(receiver.RemovePeer(2));
  EXPECT_EQ(receiver.OnDatagram(c.Next()), MediaReceiver::Verdict::kPlayed);
  EXPECT_EQ(receiver.peer_count(), 2u);
  EXPECT_EQ(receiver.counters().peers_created, 3u);
  EXPECT_EQ(receiver.counters().peers_removed, 1u);
}

TEST(MediaReceiverTest, ASilentPeerTimesOut) {
  SimulatedClock clock;
  MediaReceiver receiver(clock, {.own_ssrc = 1, .peer_timeout = milliseconds(1000)});
  Stream a(2, 300.0, 0.2);
  Drive(receiver, clock, {&a}, 10);
  EXPECT_EQ(receiver.peer_count(), 1u);
  Drive(receiver, clock, {}, 40);  // 800 ms of silence: still there
  EXPECT_EQ(receiver.peer_count(), 1u);
  Drive(receiver, clock, {}, 15);  // 1.1 s
  EXPECT_EQ(receiver.peer_count(), 0u);
  EXPECT_EQ(receiver.counters().peers_removed, 1u);
}

TEST(MediaReceiverTest, WhatIsNotRtpIsCountedAndDropped) {
  SimulatedClock clock;
  MediaReceiver receiver(clock, {.own_ssrc = 1});
  const auto ack = relay::SerializeHello({relay::HelloType::kAck, 3, {}});
  EXPECT_EQ(receiver.OnDatagram(ack), MediaReceiver::Verdict::kNotRtp);
  const std::array<uint8_t, 8> receiver_report = {0x80, 201, 0, 1, 0, 0, 0, 2};
  EXPECT_EQ(receiver.OnDatagram(receiver_report), MediaReceiver::Verdict::kRtcp);
  // Version 2, 15 CSRCs announced in a 12-byte packet.
  const std::array<uint8_t, 12> cut = {0x8F, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2};
  EXPECT_EQ(receiver.OnDatagram(cut), MediaReceiver::Verdict::kMalformed);
  EXPECT_EQ(receiver.OnDatagram({}), MediaReceiver::Verdict::kNotRtp);
  const auto& counters = receiver.counters();
  EXPECT_EQ(counters.datagrams, 4u);
  EXPECT_EQ(counters.not_rtp, 2u);
  EXPECT_EQ(counters.rtcp_packets, 1u);
  EXPECT_EQ(counters.malformed, 1u);
  EXPECT_EQ(receiver.peer_count(), 0u);
}

TEST(MediaReceiverTest, RtpAndRtcpReachTheRtcpSession) {
  SimulatedClock clock;
  RtcpSession rtcp(clock, {.ssrc = 1, .cname = "r"});
  MediaReceiver receiver(clock, {.own_ssrc = 1}, nullptr, &rtcp);
  Stream own(1, 2500.0, 0.3);
  Stream alice(2, 440.0, 0.3);
  Drive(receiver, clock, {&own, &alice}, 50);
  rtp::RtcpCompound sr;
  sr.packets.emplace_back(
      rtp::SenderReport{2, {rtp::WallTimeToNtp(clock.WallNow()), 0, 50, 0}, {}, {}});
  std::vector<uint8_t> bytes(rtp::RtcpCompoundSize(sr));
  ASSERT_TRUE(rtp::WriteRtcpCompound(sr, bytes));
  EXPECT_EQ(receiver.OnDatagram(bytes), MediaReceiver::Verdict::kRtcp);
  const std::array<uint8_t, 8> cut = {0x80, 201, 0, 5, 0, 0, 0, 2};  // length past the end
  EXPECT_EQ(receiver.OnDatagram(cut), MediaReceiver::Verdict::kRtcp);

  EXPECT_EQ(receiver.counters().rtcp_packets, 2u);
  const RtcpSessionStats stats = rtcp.stats();
  EXPECT_EQ(stats.reports_received, 1u);
  EXPECT_EQ(stats.malformed, 1u);
  ASSERT_EQ(stats.downlinks.size(), 1u);  // its own stream is not a peer
  EXPECT_EQ(stats.downlinks[0].ssrc, 2u);
  EXPECT_EQ(stats.downlinks[0].packets_received, 49u);  // the first ends A.1's probation
  EXPECT_TRUE(stats.downlinks[0].sender_report_received);
}

// SRTP: what a peer sends through the relay, protected with the room's key.
std::vector<uint8_t> Protect(rtp::SrtpOutboundSession& out, std::vector<uint8_t> plain, bool rtcp) {
  const size_t size = plain.size();
  plain.resize(size + rtp::kSrtpMaxRtcpOverheadBytes);
  Result<size_t> bytes = rtcp ? out.ProtectRtcp(plain, size) : out.ProtectRtp(plain, size);
  if (!bytes) throw std::runtime_error(bytes.error().message);
  plain.resize(*bytes);
  return plain;
}

TEST(MediaReceiverTest, WithSrtpItPlaysWhatAuthenticatesAndDropsTheRest) {
  std::vector<uint8_t> key_then_salt(28);
  for (size_t i = 0; i < key_then_salt.size(); ++i) key_then_salt[i] = static_cast<uint8_t>(5 + i);
  const Result<rtp::SrtpKeyMaterial> key =
      rtp::MakeSrtpKeyMaterial("AEAD_AES_128_GCM", key_then_salt);
  ASSERT_TRUE(key.ok());
  Result<rtp::SrtpOutboundSession> peer = rtp::SrtpOutboundSession::Create(*key);
  Result<rtp::SrtpInboundSession> in = rtp::SrtpInboundSession::Create(*key);
  ASSERT_TRUE(peer.ok() && in.ok());

  SimulatedClock clock;
  CountingSink sink;
  RtcpSession rtcp(clock, {.ssrc = 1, .cname = "r"});
  MediaReceiver receiver(clock, {.own_ssrc = 1}, &sink, &rtcp);
  receiver.SetSrtp(&*in);
  Stream alice(2, 440.0, 0.3);
  std::vector<int16_t> block(static_cast<size_t>(receiver.block_frames()));
  std::vector<uint8_t> first;
  for (int i = 0; i < 100; ++i) {  // 2 s
    const std::vector<uint8_t> wire = Protect(*peer, alice.Next(), false);
    if (i == 0) first = wire;
    EXPECT_EQ(receiver.OnDatagram(wire), MediaReceiver::Verdict::kPlayed) << i;
    for (int half = 0; half < 2; ++half) {
      receiver.Pull10ms(block);
      clock.Advance(milliseconds(10));
    }
  }
  const auto last_second = std::span<const int16_t>(sink.samples).last(kRate);
  EXPECT_NEAR(ToneAmplitude(last_second, 440.0), 0.3, 0.035);

  // The relay's SR about alice, as SRTCP: read by the RTCP session.
  rtp::RtcpCompound sr;
  sr.packets.emplace_back(
      rtp::SenderReport{2, {rtp::WallTimeToNtp(clock.WallNow()), 0, 100, 0}, {}, {}});
  std::vector<uint8_t> sr_bytes(rtp::RtcpCompoundSize(sr));
  ASSERT_TRUE(rtp::WriteRtcpCompound(sr, sr_bytes));
  EXPECT_EQ(receiver.OnDatagram(Protect(*peer, sr_bytes, true)), MediaReceiver::Verdict::kRtcp);
  EXPECT_TRUE(rtcp.stats().downlinks.at(0).sender_report_received);

  // Tampered, replayed, or in the clear (RTP and RTCP): dropped, never played or read.
  std::vector<uint8_t> tampered = Protect(*peer, alice.Next(), false);
  tampered[20] ^= 0x10;
  const auto undecryptable = MediaReceiver::Verdict::kUndecryptable;
  EXPECT_EQ(receiver.OnDatagram(tampered), undecryptable);
  EXPECT_EQ(receiver.OnDatagram(first), undecryptable);
  EXPECT_EQ(receiver.OnDatagram(alice.Next()), undecryptable);
  EXPECT_EQ(receiver.OnDatagram(sr_bytes), undecryptable);
  const ReceiverCounters& counters = receiver.counters();
  EXPECT_EQ(counters.undecryptable, 4u);
  EXPECT_EQ(counters.rtp_packets, 100u);
  EXPECT_EQ(counters.rtcp_packets, 1u);
  EXPECT_EQ(rtcp.stats().reports_received, 1u);
  EXPECT_EQ(in->stats().replays, 1u);
  EXPECT_EQ(in->stats().auth_failures + in->stats().other_failures, 3u);
  ASSERT_EQ(receiver.peer_stats().size(), 1u);
  EXPECT_EQ(receiver.peer_stats()[0].packets_received, 100u);

  // Without the session, plain RTP plays again.
  receiver.SetSrtp(nullptr);
  EXPECT_EQ(receiver.OnDatagram(alice.Next()), MediaReceiver::Verdict::kPlayed);
}

TEST(MediaReceiverTest, StatsNameThePeerAndCountItsLoss) {
  SimulatedClock clock;
  MediaReceiver receiver(clock, {.own_ssrc = 1});
  receiver.SetPeerIdentity(2, "alice");  // before its first packet, as after peer_joined
  Stream a(2, 300.0, 0.2);
  std::vector<int16_t> block(static_cast<size_t>(receiver.block_frames()));
  for (int i = 0; i < 100; ++i) {
    auto packet = a.Next();
    if (i % 10 != 5) (void)receiver.OnDatagram(packet);  // every tenth lost
    for (int half = 0; half < 2; ++half) {
      receiver.Pull10ms(block);
      clock.Advance(milliseconds(10));
    }
  }
  const auto stats = receiver.peer_stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].identity, "alice");
  EXPECT_EQ(stats[0].ssrc, 2u);
  EXPECT_EQ(stats[0].packets_received, 90u);
  EXPECT_EQ(stats[0].packets_lost, 10);  // packets 5, 15, ..., 95
  EXPECT_GT(stats[0].playout.concealedSamples, 0u);
}

TEST(MediaReceiverTest, RejectsBadConfigAndBlockSize) {
  SimulatedClock clock;
  EXPECT_THROW(MediaReceiver(clock, {.max_peers = 0}), std::invalid_argument);
  EXPECT_THROW(MediaReceiver(clock, {.max_peers = 101}), std::invalid_argument);
  MediaReceiverConfig stereo;
  stereo.engine.channels = 2;
  EXPECT_THROW(MediaReceiver(clock, stereo), std::invalid_argument);
  MediaReceiver receiver(clock, {});
  std::vector<int16_t> wrong(100);
  EXPECT_THROW(receiver.Pull10ms(wrong), std::invalid_argument);
}

}  // namespace
}  // namespace parley::client
