#include "parley/playout/stream_timeline.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

namespace parley::playout {
namespace {

using std::chrono::milliseconds;
using Verdict = StreamTimeline::Verdict;

constexpr int kTicksPerPacket = 960;  // 20 ms at 48 kHz

Clock::TimePoint At(double ms) {
  return Clock::TimePoint{} +
         std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double, std::milli>(ms));
}

// A sender: packet i carries timestamp base + 960 i and sequence seq_base + i.
struct Sender {
  uint32_t timestamp_base = 1000;
  uint16_t sequence_base = 500;
  std::optional<uint32_t> ssrc;
  StreamTimeline::Arrival Packet(int i, double arrival_ms) const {
    return {timestamp_base + static_cast<uint32_t>(i * kTicksPerPacket),
            static_cast<uint16_t>(sequence_base + i), ssrc, At(arrival_ms)};
  }
};

// Feeds a steady stream (packet i arrives at 20 i + delay ms) and checks every packet is on
// one timeline, mapped one to one.
TEST(StreamTimeline, ASteadyStreamMapsOneToOne) {
  StreamTimeline timeline;
  const Sender s;
  for (int i = 0; i < 500; ++i) {
    const auto p = timeline.Place(s.Packet(i, 20.0 * i + 40), {});
    ASSERT_EQ(p.verdict, Verdict::kCurrent) << i;
    EXPECT_EQ(p.timestamp, 1000 + int64_t{i} * kTicksPerPacket);
    EXPECT_EQ(p.sequence_number, 500 + i);
  }
  EXPECT_EQ(timeline.stats().new_timelines, 0u);
  EXPECT_EQ(timeline.stats().stray, 0u);
}

TEST(StreamTimeline, TimestampAndSequenceWrapAroundStayContinuous) {
  StreamTimeline timeline;
  Sender s;
  s.timestamp_base = 0xFFFFFFFFu - 50 * kTicksPerPacket;
  s.sequence_base = 0xFFFF - 20;
  std::optional<int64_t> last_ts;
  std::optional<int64_t> last_seq;
  for (int i = 0; i < 200; ++i) {
    const auto p = timeline.Place(s.Packet(i, 20.0 * i), {});
    ASSERT_EQ(p.verdict, Verdict::kCurrent) << i;
    if (last_ts) {
      EXPECT_EQ(p.timestamp - *last_ts, kTicksPerPacket);
      EXPECT_EQ(p.sequence_number - *last_seq, 1);
    }
    last_ts = p.timestamp;
    last_seq = p.sequence_number;
  }
}

// Jitter of every kind a network does (reordering, bursts after a stall, delay spikes of
// 1.5 s) is the same stream: no switch, no stray.
TEST(StreamTimeline, JitterReorderingAndSpikesAreNotTimelineEvents) {
  StreamTimeline timeline;
  const Sender s;
  std::mt19937 rng(7);
  std::gamma_distribution<double> jitter(1.5, 50.0);  // mean 75 ms, long tail
  struct Arrival {
    int i;
    double ms;
  };
  std::vector<Arrival> arrivals;
  for (int i = 0; i < 3000; ++i) {
    double delay = 40 + jitter(rng);
    // A 1.5 s delay spike every 10 s, draining over half a second.
    const int phase = i % 500;
    if (phase >= 100 && phase < 125) delay += 1500 - (phase - 100) * 60;
    arrivals.push_back({i, 20.0 * i + delay});
  }
  std::stable_sort(arrivals.begin(), arrivals.end(),
                   [](const Arrival& a, const Arrival& b) { return a.ms < b.ms; });
  for (const Arrival& a : arrivals) {
    const auto p = timeline.Place(s.Packet(a.i, a.ms), {});
    ASSERT_EQ(p.verdict, Verdict::kCurrent) << a.i;
    EXPECT_EQ(p.timestamp, 1000 + int64_t{a.i} * kTicksPerPacket);
  }
  EXPECT_EQ(timeline.stats().new_timelines, 0u);
  EXPECT_EQ(timeline.stats().stray, 0u);
}

// DTX: a packet every 400 ms of silence, timestamps following the clock; and a sender that
// stops for 10 s with its timestamps running on (as WebRTC senders do when muted).
TEST(StreamTimeline, SilencesWithRunningTimestampsAreTheSameStream) {
  StreamTimeline timeline;
  const Sender s;
  int seq = 0;
  auto place = [&](int slot, double ms) {
    StreamTimeline::Arrival a = s.Packet(slot, ms);
    a.sequence_number = static_cast<uint16_t>(s.sequence_base + seq++);
    return timeline.Place(a, {});
  };
  for (int i = 0; i < 50; ++i) ASSERT_EQ(place(i, 20.0 * i + 30).verdict, Verdict::kCurrent);
  for (int i = 50; i < 300; i += 20) ASSERT_EQ(place(i, 20.0 * i + 30).verdict, Verdict::kCurrent);
  for (int i = 800; i < 850; ++i) ASSERT_EQ(place(i, 20.0 * i + 35).verdict, Verdict::kCurrent);
  EXPECT_EQ(timeline.stats().new_timelines, 0u);
}

TEST(StreamTimeline, OneStrayPacketFarAheadIsHeldThenDroppedNeverFollowed) {
  for (const int64_t leap_ms : {10'000, -10'000, 600, -3'000, 2'000'000'000}) {
    SCOPED_TRACE(leap_ms);
    StreamTimeline timeline;
    const Sender s;
    for (int i = 0; i < 100; ++i)
      ASSERT_EQ(timeline.Place(s.Packet(i, 20.0 * i), {}).verdict, Verdict::kCurrent);
    StreamTimeline::Arrival stray = s.Packet(100, 2000);
    stray.rtp_timestamp += static_cast<uint32_t>(leap_ms * 48);
    EXPECT_EQ(timeline.Place(stray, {}).verdict, Verdict::kHeld);
    EXPECT_TRUE(timeline.holding());
    for (int i = 100; i < 200; ++i) {
      const auto p = timeline.Place(s.Packet(i, 20.0 * i + 5), {});
      ASSERT_EQ(p.verdict, Verdict::kCurrent) << i;
      EXPECT_EQ(p.timestamp, 1000 + int64_t{i} * kTicksPerPacket);
    }
    EXPECT_FALSE(timeline.holding());
    EXPECT_EQ(timeline.stats().stray, 1u);
    EXPECT_EQ(timeline.stats().new_timelines, 0u);
  }
}

// A stray with a sequence number that continues the stream but a timestamp from another
// time (a corrupt header) is a stray too.
TEST(StreamTimeline, AStrayWithTheNextSequenceNumberIsStillAStray) {
  StreamTimeline timeline;
  const Sender s;
  for (int i = 0; i < 50; ++i) (void)timeline.Place(s.Packet(i, 20.0 * i), {});
  StreamTimeline::Arrival stray = s.Packet(50, 1000);
  stray.rtp_timestamp += 48000 * 10;
  EXPECT_EQ(timeline.Place(stray, {}).verdict, Verdict::kHeld);
  // The real packet 50 (same sequence number) and the rest follow.
  for (int i = 50; i < 60; ++i) {
    EXPECT_EQ(timeline.Place(s.Packet(i, 20.0 * i + 1), {}).verdict, Verdict::kCurrent);
  }
  EXPECT_EQ(timeline.stats().stray, 1u);
}

struct Event {
  const char* name;
  int64_t timestamp_step_ms;  // the new stream's first timestamp minus the old's next
  int sequence_step;          // likewise for sequence numbers
  std::optional<uint32_t> new_ssrc;
  double pause_ms;  // silence between the old stream's last packet and the new one's first
};

class StreamTimelineEvent : public ::testing::TestWithParam<Event> {};

// After the event, the new stream's first packet lands where the old timeline expected
// audio arriving then: the delay stays what it was and no audio is overwritten.
TEST_P(StreamTimelineEvent, ANewTimelineIsFollowedAfterTwoPacketsAtTheSameDelay) {
  const Event e = GetParam();
  StreamTimeline timeline;
  Sender old_sender;
  old_sender.ssrc = 0x1111;
  constexpr int kOld = 200;
  constexpr double kDelayMs = 50;
  int64_t last_old_ts = 0;
  for (int i = 0; i < kOld; ++i) {
    const auto p = timeline.Place(old_sender.Packet(i, 20.0 * i + kDelayMs), {});
    ASSERT_EQ(p.verdict, Verdict::kCurrent);
    last_old_ts = p.timestamp;
  }
  Sender next;
  next.ssrc = e.new_ssrc ? e.new_ssrc : old_sender.ssrc;
  next.timestamp_base = old_sender.timestamp_base + static_cast<uint32_t>(kOld * kTicksPerPacket) +
                        static_cast<uint32_t>(e.timestamp_step_ms * 48);
  next.sequence_base = static_cast<uint16_t>(old_sender.sequence_base + kOld + e.sequence_step);
  const double t0 = 20.0 * kOld + kDelayMs + e.pause_ms;
  const int64_t content_end = last_old_ts + kTicksPerPacket;
  const auto first = timeline.Place(next.Packet(0, t0), {content_end});
  EXPECT_EQ(first.verdict, Verdict::kHeld);
  const auto second = timeline.Place(next.Packet(1, t0 + 20), {content_end});
  ASSERT_EQ(second.verdict, Verdict::kNewTimeline);
  // Where the old stream would have put audio arriving at t0 (its delay held), in ticks.
  const int64_t expected = content_end + static_cast<int64_t>(e.pause_ms * 48);
  EXPECT_NEAR(second.held_timestamp, expected, 48);
  EXPECT_EQ(second.timestamp, second.held_timestamp + kTicksPerPacket);
  EXPECT_EQ(second.held_sequence_number, 500 + kOld);
  EXPECT_EQ(second.sequence_number, 500 + kOld + 1);
  // The old stream's last packet, delivered again 30 ms after the switch, is not mixed
  // into the new one: dropped as stale, or placed before it (where the buffer drops it as
  // late or a duplicate).
  const auto tail = timeline.Place(old_sender.Packet(kOld - 1, t0 + 50), {});
  if (tail.verdict == Verdict::kCurrent) {
    EXPECT_LE(tail.timestamp + kTicksPerPacket, second.held_timestamp);
  } else {
    EXPECT_EQ(tail.verdict, Verdict::kStale);
  }
  for (int i = 2; i < 100; ++i) {
    const auto p = timeline.Place(next.Packet(i, t0 + 20.0 * i), {});
    ASSERT_EQ(p.verdict, Verdict::kCurrent) << i;
    EXPECT_EQ(p.timestamp, second.held_timestamp + int64_t{i} * kTicksPerPacket);
  }
  EXPECT_EQ(timeline.stats().new_timelines, 1u);
  EXPECT_EQ(timeline.stats().stray, 0u);
  // Positions map back to the sender's timestamps of the timeline that placed them.
  EXPECT_EQ(timeline.RtpTimestampAt(last_old_ts), old_sender.timestamp_base + (kOld - 1) * 960u);
  EXPECT_EQ(timeline.RtpTimestampAt(second.held_timestamp + 5 * kTicksPerPacket),
            next.timestamp_base + 5 * 960u);
}

INSTANTIATE_TEST_SUITE_P(
    Events, StreamTimelineEvent,
    ::testing::Values(Event{"restart_lower_same_sequence", -4000, 0, std::nullopt, 0},
                      Event{"restart_slightly_lower", -100, 0, std::nullopt, 0},
                      Event{"restart_new_ssrc_random", -123456, 31000, 0x2222u, 300},
                      Event{"mixer_leap_forward_5s", 5000, 0, std::nullopt, 0},
                      Event{"leap_forward_300ms", 300, 0, std::nullopt, 0},
                      Event{"leap_across_the_wrap", 0x7FFF0000 / 48, 0, std::nullopt, 0},
                      Event{"clock_paused_while_muted", 0, 0, std::nullopt, 10'000},
                      Event{"new_ssrc_same_timeline", 0, 0, 0x3333u, 0}),
    [](const auto& test) { return std::string(test.param.name); });

// The new timeline never starts before audio already played, concealed or buffered.
TEST(StreamTimeline, ANewTimelineStartsAfterTheContentAlreadyThere) {
  StreamTimeline timeline;
  const Sender s;
  for (int i = 0; i < 100; ++i) (void)timeline.Place(s.Packet(i, 20.0 * i + 30), {});
  Sender next = s;
  next.timestamp_base -= 48000 * 3;
  const int64_t content_end = 1000 + int64_t{100} * kTicksPerPacket + 48000;  // 1 s buffered
  EXPECT_EQ(timeline.Place(next.Packet(100, 2030), {content_end}).verdict, Verdict::kHeld);
  const auto p = timeline.Place(next.Packet(101, 2050), {content_end});
  ASSERT_EQ(p.verdict, Verdict::kNewTimeline);
  EXPECT_EQ(p.held_timestamp, content_end);
}

// A flood of garbage timestamps never moves the timeline: each garbage packet replaces the
// last as the held candidate, none confirms (random sequence numbers and offsets).
TEST(StreamTimeline, RandomGarbageNeverConfirmsATimeline) {
  StreamTimeline timeline;
  const Sender s;
  std::mt19937 rng(3);
  std::uniform_int_distribution<uint32_t> any;
  int garbage = 0;
  for (int i = 0; i < 2000; ++i) {
    const auto p = timeline.Place(s.Packet(i, 20.0 * i + 20), {});
    ASSERT_EQ(p.verdict, Verdict::kCurrent) << i;
    for (int k = 0; k < 2; ++k) {
      const StreamTimeline::Arrival junk{any(rng), static_cast<uint16_t>(any(rng)), std::nullopt,
                                         At(20.0 * i + 25 + k)};
      const auto j = timeline.Place(junk, {});
      ASSERT_NE(j.verdict, Verdict::kNewTimeline) << i;
      ++garbage;
    }
  }
  EXPECT_EQ(timeline.stats().new_timelines, 0u);
  EXPECT_GE(timeline.stats().stray + timeline.stats().stale + 1,
            static_cast<uint64_t>(garbage) * 9 / 10);
}

TEST(StreamTimeline, RejectsAnInvalidConfig) {
  EXPECT_THROW(StreamTimeline(StreamTimelineConfig{.clock_rate_hz = 0}), std::invalid_argument);
  EXPECT_THROW(StreamTimeline(StreamTimelineConfig{.abandon_after = 0}), std::invalid_argument);
}

}  // namespace
}  // namespace parley::playout
