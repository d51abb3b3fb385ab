// The playout engine through timeline events a sender or a network can cause: restarts
// (timestamps start again lower, with or without a new SSRC), leaps forward (a mixer
// switching sources), wrap-around, one stray packet far out, a sender that stops and
// resumes (its clock running on or paused), bursts of duplicates. What a listener would
// notice is asserted: when the new audio is heard, the delay after the event, and that
// nothing else changes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <optional>
#include <vector>

#include "parley/codec/opus_codec.h"
#include "parley/playout/playout_engine.h"
#include "parley/testing/speech.h"

namespace parley::playout {
namespace {

constexpr int kRate = 48000;
constexpr int kBlock = kRate / 100;
constexpr int kPacketFrames = kRate / 50;  // 20 ms
constexpr double kToneHz = 1000.0;

struct Sent {
  double send_ms = 0;
  uint32_t timestamp = 0;
  uint16_t sequence = 0;
  std::optional<uint32_t> ssrc;
  std::vector<uint8_t> payload;
  bool tone = false;  // part of the second stream (a tone, told apart from speech)
};

// One sender's packets: `frames` 20 ms packets of speech (or a tone), encoded by one
// encoder, sent every 20 ms from `start_ms`, timestamps from `timestamp`, sequence
// numbers from `sequence`.
std::vector<Sent> Stream(bool tone, int packets, double start_ms, uint32_t timestamp,
                         uint16_t sequence, std::optional<uint32_t> ssrc) {
  std::vector<int16_t> pcm;
  if (tone) {
    pcm.resize(static_cast<size_t>(packets * kPacketFrames));
    for (size_t n = 0; n < pcm.size(); ++n) {
      pcm[n] = static_cast<int16_t>(8000 * std::sin(2 * std::numbers::pi * kToneHz * n / kRate));
    }
  } else {
    const std::vector<int16_t> speech = testing::Speech(kRate);
    while (pcm.size() < static_cast<size_t>(packets * kPacketFrames)) {
      pcm.insert(pcm.end(), speech.begin(), speech.end());
    }
  }
  auto encoder = codec::OpusAudioEncoder::Create(kRate, 1, codec::OpusSettings{});
  EXPECT_TRUE(encoder.ok());
  std::vector<Sent> out;
  std::vector<uint8_t> buf(1500);
  for (int i = 0; i < packets; ++i) {
    auto n = (*encoder)->Encode(
        std::span(pcm).subspan(static_cast<size_t>(i * kPacketFrames), kPacketFrames), buf);
    EXPECT_TRUE(n.ok());
    Sent s;
    s.send_ms = start_ms + 20.0 * i;
    s.timestamp = timestamp + static_cast<uint32_t>(i * kPacketFrames);
    s.sequence = static_cast<uint16_t>(sequence + i);
    s.ssrc = ssrc;
    s.payload.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    s.tone = tone;
    out.push_back(std::move(s));
  }
  return out;
}

struct CallRun {
  std::vector<int16_t> out;
  std::vector<PlayoutEngine::BlockInfo> blocks;
  PlayoutStatistics stats;
  std::vector<double> arrival_ms;  // per packet of `sent`, in its order
};

// Delivers `sent` with a network delay of 40 ms plus a small deterministic jitter, pulling
// a block every 10 ms for `duration_ms`.
CallRun Deliver(const std::vector<Sent>& sent, double duration_ms) {
  SimulatedClock clock;
  PlayoutEngine engine(clock, PlayoutEngineConfig{});
  CallRun run;
  struct Arrival {
    double ms;
    size_t index;
  };
  std::vector<Arrival> arrivals;
  for (size_t i = 0; i < sent.size(); ++i) {
    const auto slot = static_cast<int64_t>(sent[i].send_ms / 20);
    const double jitter = static_cast<double>((slot * 7) % 11);  // 0..10 ms, copies alike
    arrivals.push_back({sent[i].send_ms + 40 + jitter, i});
    run.arrival_ms.push_back(arrivals.back().ms);
  }
  std::stable_sort(arrivals.begin(), arrivals.end(),
                   [](const Arrival& a, const Arrival& b) { return a.ms < b.ms; });
  size_t next = 0;
  std::vector<int16_t> block(kBlock);
  for (int t = 0; t < static_cast<int>(duration_ms); ++t) {
    while (next < arrivals.size() && arrivals[next].ms <= t) {
      const Sent& s = sent[arrivals[next].index];
      (void)engine.InsertPacket(PlayoutEngine::Packet{111, s.sequence, s.timestamp, s.payload},
                                s.ssrc);
      ++next;
    }
    if (t % 10 == 0) {
      auto info = engine.Pull10ms(block);
      EXPECT_TRUE(info.ok());
      run.blocks.push_back(*info);
      run.out.insert(run.out.end(), block.begin(), block.end());
      const Status st = engine.CheckInvariants();
      EXPECT_TRUE(st.ok()) << st.error().message;
    }
    clock.Advance(std::chrono::milliseconds(1));
  }
  run.stats = engine.stats();
  return run;
}

// Share of a block's energy at the tone's frequency (Goertzel): ~1 for the tone.
double ToneShare(std::span<const int16_t> block) {
  const double w = 2 * std::numbers::pi * kToneHz / kRate;
  double s1 = 0, s2 = 0, energy = 0;
  for (int16_t v : block) {
    const double s0 = v + 2 * std::cos(w) * s1 - s2;
    s2 = s1;
    s1 = s0;
    energy += static_cast<double>(v) * v;
  }
  const double power = s1 * s1 + s2 * s2 - 2 * std::cos(w) * s1 * s2;
  return energy > 0 ? 2 * power / (energy * static_cast<double>(block.size())) : 0.0;
}

// The first block (its start time, ms) from `from_ms` on that is mostly the tone.
std::optional<double> FirstToneMs(const CallRun& run, double from_ms) {
  for (size_t b = static_cast<size_t>(from_ms / 10); b < run.blocks.size(); ++b) {
    const auto block = std::span(run.out).subspan(b * kBlock, kBlock);
    if (ToneShare(block) > 0.8) return 10.0 * static_cast<double>(b);
  }
  return std::nullopt;
}

double MeanBufferMs(const CallRun& run, double from_ms, double to_ms) {
  double sum = 0;
  int n = 0;
  for (size_t b = static_cast<size_t>(from_ms / 10); b < static_cast<size_t>(to_ms / 10); ++b) {
    sum += run.blocks[b].buffer_delay_ms;
    ++n;
  }
  return n > 0 ? sum / n : 0.0;
}

struct Restart {
  const char* name;
  int64_t timestamp_step;  // the new stream's first timestamp minus the old stream's next
  int sequence_step;
  std::optional<uint32_t> new_ssrc;
  double pause_ms;           // between the old stream's last packet and the new one's first
  bool new_timeline = true;  // false: the stream simply goes on
};

class PlayoutEngineTimeline : public ::testing::TestWithParam<Restart> {};

// 6 s of speech, then the event, then 6 s of a tone from a new encoder. The tone is heard
// within 100 ms of its first packet's arrival, the buffer is back at its level within 2 s,
// and nothing is lost as late.
TEST_P(PlayoutEngineTimeline, TheNewStreamIsHeardPromptlyAtTheSameDelay) {
  const Restart r = GetParam();
  constexpr int kOldPackets = 300;
  const std::optional<uint32_t> old_ssrc =
      r.new_ssrc ? std::optional<uint32_t>(0x1111) : std::nullopt;
  std::vector<Sent> sent = Stream(false, kOldPackets, 0, 5000, 100, old_ssrc);
  const double restart_ms = 20.0 * kOldPackets + r.pause_ms;
  const uint32_t next_ts = 5000 + kOldPackets * kPacketFrames;
  const std::vector<Sent> tone =
      Stream(true, 300, restart_ms, next_ts + static_cast<uint32_t>(r.timestamp_step),
             static_cast<uint16_t>(100 + kOldPackets + r.sequence_step), r.new_ssrc);
  sent.insert(sent.end(), tone.begin(), tone.end());
  const CallRun run = Deliver(sent, restart_ms + 6000);

  const double first_arrival = run.arrival_ms[kOldPackets];
  const auto heard = FirstToneMs(run, first_arrival);
  ASSERT_TRUE(heard.has_value());
  EXPECT_LE(*heard - first_arrival, 100.0);
  const double before = MeanBufferMs(run, restart_ms - r.pause_ms - 1000, restart_ms - r.pause_ms);
  const double after = MeanBufferMs(run, first_arrival + 2000, first_arrival + 3000);
  EXPECT_NEAR(after, before, 20.0) << "buffer level before " << before << " ms, after " << after;
  std::printf(
      "%s: heard %.0f ms after the first packet's arrival; buffer %.1f ms before, "
      "%.1f ms 2-3 s after; concealed %.0f ms\n",
      r.name, *heard - first_arrival, before, after,
      static_cast<double>(run.stats.concealedSamples) / (kRate / 1000));
  EXPECT_EQ(run.stats.late_packets, 0u);
  EXPECT_EQ(run.stats.interruptionCount, r.pause_ms > 150 ? 1u : 0u);
  EXPECT_EQ(run.stats.new_timelines, r.new_timeline ? 1u : 0u);
  // Everything after the event was played: the tone, in full, at the end.
  const auto tail = std::span(run.out).subspan(run.out.size() - 100 * kBlock, kBlock);
  EXPECT_GT(ToneShare(tail), 0.8);
}

INSTANTIATE_TEST_SUITE_P(
    Events, PlayoutEngineTimeline,
    ::testing::Values(
        // A sender that restarts: timestamps from a lower point, sequence numbers going on.
        Restart{"sender_restart_same_ssrc", -48000 * 20, 0, std::nullopt, 0},
        // A reconnect: new SSRC, new random timestamps and sequence numbers, 300 ms later.
        Restart{"reconnect_new_ssrc", -123456789, 12345, 0x2222u, 300},
        // A mixer switching sources: timestamps leap 5 s forward, sequence numbers go on.
        Restart{"mixer_leap_forward", 48000 * 5, 0, std::nullopt, 0},
        // A muted sender whose clock paused for 10 s.
        Restart{"clock_paused_10s", 0, 0, std::nullopt, 10'000},
        // A muted sender whose clock ran on: no event at all, just a silence.
        Restart{"silence_10s_clock_running", 48 * 10'000, 0, std::nullopt, 10'000, false}),
    [](const auto& test) { return std::string(test.param.name); });

// One packet 10 s in the future (a corrupt or hostile timestamp) changes nothing a
// listener hears: the output is the output without it, sample for sample.
TEST(PlayoutEngineTimelineStray, OneStrayPacketChangesNothing) {
  const std::vector<Sent> clean = Stream(false, 400, 0, 5000, 100, std::nullopt);
  for (const int64_t leap : {int64_t{48000} * 10, int64_t{-48000} * 10, int64_t{1} << 31}) {
    SCOPED_TRACE(leap);
    std::vector<Sent> with_stray = clean;
    Sent stray = clean[150];
    stray.timestamp += static_cast<uint32_t>(leap);
    stray.sequence = static_cast<uint16_t>(stray.sequence + 7);
    stray.send_ms += 3;
    with_stray.insert(with_stray.begin() + 151, stray);
    const CallRun a = Deliver(clean, 9000);
    const CallRun b = Deliver(with_stray, 9000);
    EXPECT_EQ(a.out, b.out);
    EXPECT_EQ(b.stats.stray_packets, 1u);
    EXPECT_EQ(b.stats.new_timelines, 0u);
  }
}

// Timestamps that wrap around 2^32 mid-call play exactly as timestamps that do not.
TEST(PlayoutEngineTimelineStray, WrapAroundIsInaudible) {
  const std::vector<Sent> low = Stream(false, 300, 0, 5000, 100, std::nullopt);
  const std::vector<Sent> wrapping =
      Stream(false, 300, 0, 0xFFFFFFFFu - 100 * kPacketFrames, 65500, std::nullopt);
  const CallRun a = Deliver(low, 7000);
  const CallRun b = Deliver(wrapping, 7000);
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(b.stats.new_timelines, 0u);
}

// Every packet delivered five times: what is heard is what one copy gives.
TEST(PlayoutEngineTimelineStray, ABurstOfDuplicatesPlaysOnce) {
  const std::vector<Sent> clean = Stream(false, 300, 0, 5000, 100, std::nullopt);
  std::vector<Sent> duplicated;
  for (const Sent& s : clean) {
    for (int k = 0; k < 5; ++k) duplicated.push_back(s);
  }
  const CallRun a = Deliver(clean, 7000);
  const CallRun b = Deliver(duplicated, 7000);
  EXPECT_EQ(a.out, b.out);
  EXPECT_GE(b.stats.duplicate_packets, 4u * 300 - 10);
}

}  // namespace
}  // namespace parley::playout
