#include "parley/playout/realtime_player.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <vector>

#include "parley/codec/opus_codec.h"
#include "parley/testing/speech.h"

namespace parley::playout {
namespace {

using std::chrono::milliseconds;

constexpr int kPacketMs = 20;
constexpr int kPacketTicks = 48000 * kPacketMs / 1000;  // Opus RTP clock

// Speech encoded once as 20 ms Opus packets at 24 kb/s; longer streams loop them.
const std::vector<std::vector<uint8_t>>& SpeechPackets() {
  static const std::vector<std::vector<uint8_t>> packets = [] {
    std::vector<int16_t> speech;
    for (int i = 0; i < testing::SpeechCount(); ++i) {
      const std::vector<int16_t> s = testing::Speech(48000, i);
      speech.insert(speech.end(), s.begin(), s.end());
    }
    auto encoder = codec::OpusAudioEncoder::Create(48000, 1, codec::OpusSettings{});
    EXPECT_TRUE(encoder.ok());
    std::vector<std::vector<uint8_t>> out;
    std::vector<uint8_t> buf(1500);
    for (size_t p = 0; p + kPacketTicks <= speech.size(); p += kPacketTicks) {
      auto n = (*encoder)->Encode(std::span(speech).subspan(p, kPacketTicks), buf);
      EXPECT_TRUE(n.ok());
      out.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    return out;
  }();
  return packets;
}

// Packet i of an endless stream: the speech packets looped, sequence and timestamp
// continuing.
PlayoutEngine::Packet StreamPacket(int64_t i) {
  const auto& packets = SpeechPackets();
  return {111, static_cast<uint16_t>(i), static_cast<uint32_t>(i * kPacketTicks),
          packets[static_cast<size_t>(i) % packets.size()]};
}

class RecordingSink final : public AudioSink {
 public:
  void OnAudio(std::span<const int16_t> block, const PlayoutEngine::BlockInfo& info) override {
    ++blocks;
    sizes_ok = sizes_ok && block.size() == 480;
    infos.push_back(info);
  }
  int blocks = 0;
  bool sizes_ok = true;
  std::vector<PlayoutEngine::BlockInfo> infos;
};

class RecordingListener final : public PlayoutListener {
 public:
  void OnLossStarted(int64_t media_timestamp) override { starts.push_back(media_timestamp); }
  void OnLossEnded(std::chrono::microseconds duration) override { ends.push_back(duration); }
  void OnDeadlinesMissed(int64_t blocks) override { missed.push_back(blocks); }
  std::vector<int64_t> starts;
  std::vector<std::chrono::microseconds> ends;
  std::vector<int64_t> missed;
};

PlayoutEngineConfig FixedConfig() {
  PlayoutEngineConfig config;
  config.delay = DelayManagerConfig::Fixed();
  return config;
}

// Drives a player in synchronous mode, 1 ms at a time: packet i arrives at 20 i + 20 ms
// unless `lost(i)`.
template <typename Lost>
void Drive(RealtimePlayer& player, int64_t packets, Lost lost) {
  const int end_ms = static_cast<int>(packets) * kPacketMs + kPacketMs + 1;  // no run-out
  for (int t = 0; t < end_ms; ++t) {
    if (t >= kPacketMs && (t - kPacketMs) % kPacketMs == 0) {
      const int64_t i = (t - kPacketMs) / kPacketMs;
      if (i < packets && !lost(i)) {
        EXPECT_TRUE(player.InsertPacket(StreamPacket(i)).ok());
      }
    }
    player.RunFor(milliseconds(1));
  }
}

TEST(RealtimePlayer, HundredMillisecondHoleRaisesOneLossOfHundredMilliseconds) {
  SimulatedClock clock;
  SimulatedWaiter waiter(clock);
  RecordingSink sink;
  RecordingListener listener;
  RealtimePlayer player(clock, waiter, FixedConfig(), sink, &listener);
  const int64_t first_lost = 50;  // packets 50..54: 100 ms from media time 1 s
  Drive(player, 150, [&](int64_t i) { return i >= first_lost && i < first_lost + 5; });

  ASSERT_EQ(listener.starts.size(), 1u);
  ASSERT_EQ(listener.ends.size(), 1u);
  const double start_ms = listener.starts[0] / 48.0;
  const double duration_ms = listener.ends[0].count() / 1000.0;
  std::printf("100 ms hole: loss at media %.1f ms, duration %.1f ms\n", start_ms, duration_ms);
  EXPECT_NEAR(start_ms, first_lost * kPacketMs, 20.0);  // the block where it starts
  EXPECT_GE(duration_ms, 100.0);
  EXPECT_LE(duration_ms, 110.0);
  // Every deadline served once, none missed.
  const auto counters = player.counters();
  EXPECT_EQ(counters.deadlines_missed, 0u);
  EXPECT_EQ(counters.losses, 1u);
  EXPECT_EQ(static_cast<uint64_t>(sink.blocks), counters.blocks);
  EXPECT_TRUE(sink.sizes_ok);
  EXPECT_TRUE(player.WithEngine([](PlayoutEngine& e) { return e.CheckInvariants().ok(); }));
}

TEST(RealtimePlayer, StepServesOneDeadlinePer10ms) {
  SimulatedClock clock;
  SimulatedWaiter waiter(clock);
  RecordingSink sink;
  RealtimePlayer player(clock, waiter, FixedConfig(), sink);
  const auto t0 = clock.Now();
  for (int i = 0; i < 5; ++i) {
    const auto info = player.Step();
    EXPECT_EQ(info.operation, Operation::kSilence);  // nothing inserted yet
  }
  // The first block is due at once, the fifth at 40 ms.
  EXPECT_EQ(clock.Now() - t0, milliseconds(40));
  player.RunFor(milliseconds(100));  // deadlines 50..140 ms
  EXPECT_EQ(sink.blocks, 15);
  EXPECT_EQ(clock.Now() - t0, milliseconds(140));
}

// A gated waiter for the threaded mode: each wait advances the SimulatedClock to the
// deadline once the test allows it, and blocks otherwise, so the test knows exactly how
// many blocks the thread has served and touches the clock only while the thread waits.
class GatedWaiter final : public Waiter {
 public:
  explicit GatedWaiter(SimulatedClock& clock) : clock_(clock) {}
  void WaitUntil(Clock::TimePoint deadline) override {
    std::unique_lock lock(mutex_);
    ++waits_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return woken_ || waits_ <= allowed_; });
    if (!woken_ && deadline > clock_.Now()) clock_.Advance(deadline - clock_.Now());
  }
  void Wake() override {
    std::lock_guard lock(mutex_);
    woken_ = true;
    cv_.notify_all();
  }
  void Rearm() override {
    std::lock_guard lock(mutex_);
    woken_ = false;
  }
  // Lets `n` more waits pass.
  void Permit(int n) {
    std::lock_guard lock(mutex_);
    allowed_ += n;
    cv_.notify_all();
  }
  // Lets `n` more waits pass and returns once the thread blocks in the next one.
  void Allow(int n) {
    std::unique_lock lock(mutex_);
    allowed_ += n;
    cv_.notify_all();
    cv_.wait(lock, [&] { return waits_ == allowed_ + 1; });
  }

 private:
  SimulatedClock& clock_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int waits_ = 0;
  int allowed_ = 0;
  bool woken_ = false;
};

TEST(RealtimePlayer, StartStopWithGatedWaiter) {
  SimulatedClock clock;
  GatedWaiter waiter(clock);
  RecordingSink sink;
  RecordingListener listener;
  RealtimePlayer player(clock, waiter, FixedConfig(), sink, &listener);
  // Ten packets already there (200 ms of speech).
  for (int64_t i = 0; i < 10; ++i) ASSERT_TRUE(player.InsertPacket(StreamPacket(i)).ok());
  const auto t0 = clock.Now();

  player.Start();
  EXPECT_TRUE(player.running());
  waiter.Allow(9);  // the first block is due at once, then 9 waits: 10 blocks
  EXPECT_EQ(player.counters().blocks, 10u);
  EXPECT_EQ(clock.Now() - t0, milliseconds(90));
  player.Stop();
  EXPECT_FALSE(player.running());
  EXPECT_EQ(sink.blocks, 10);
  player.Stop();  // idempotent

  // Restart: the grid continues where it stopped (deadline 100 ms), one block per wait;
  // the 200 ms of audio run out and concealment is reported.
  player.Start();
  waiter.Allow(30);  // 29 more blocks (100..380 ms), then blocked in the 40th wait
  EXPECT_EQ(clock.Now() - t0, milliseconds(380));
  player.Stop();
  EXPECT_EQ(sink.blocks, 39);
  EXPECT_EQ(player.counters().deadlines_missed, 0u);
  EXPECT_EQ(listener.starts.size(), 1u);
  EXPECT_TRUE(sink.sizes_ok);

  // Stopped, the synchronous mode continues the grid: deadlines 390 and 400 ms, then the
  // wait for the end of the run (waits 41..43; Stop() ended the 40th).
  waiter.Permit(4);
  player.RunFor(milliseconds(20));
  EXPECT_EQ(sink.blocks, 41);
}

TEST(RealtimePlayer, StallSkipsMissedDeadlinesWithoutBurstOrLoss) {
  SimulatedClock clock;
  SimulatedWaiter waiter(clock);
  RecordingSink sink;
  RecordingListener listener;
  RealtimePlayer player(clock, waiter, PlayoutEngineConfig{}, sink, &listener);
  // 12 s of packets; the pulling side stalls 200 ms at 4 s while packets keep arriving.
  int max_blocks_per_ms = 0;
  int last_blocks = 0;
  const int stall_at = 4000;
  const int stall_ms = 200;
  int64_t next = 0;
  const int end_ms = 12000;
  std::vector<double> buffer_after;
  for (int t = 0; t < end_ms; ++t) {
    if (t >= kPacketMs && (t - kPacketMs) % kPacketMs == 0) {
      EXPECT_TRUE(player.InsertPacket(StreamPacket(next++)).ok());
    }
    if (t >= stall_at && t < stall_at + stall_ms) {
      clock.Advance(milliseconds(1));
      continue;
    }
    player.RunFor(milliseconds(1));
    max_blocks_per_ms = std::max(max_blocks_per_ms, sink.blocks - last_blocks);
    last_blocks = sink.blocks;
  }
  const auto counters = player.counters();
  const PlayoutStatistics stats = player.stats();
  // Buffer level just after the stall and at the end.
  const size_t resume = static_cast<size_t>(stall_at + stall_ms) / 10 - counters.deadlines_missed;
  double peak = 0;
  for (size_t b = resume; b < std::min(resume + 20, sink.infos.size()); ++b) {
    peak = std::max(peak, sink.infos[b].buffer_delay_ms);
  }
  const auto& last = sink.infos.back();
  std::printf(
      "stall 200 ms: missed %llu deadlines, buffer after %.0f ms -> %.0f ms (target %.0f), "
      "removed %.1f ms, concealed %.1f ms\n",
      static_cast<unsigned long long>(counters.deadlines_missed), peak, last.buffer_delay_ms,
      last.target_delay_ms, stats.removedSamplesForAcceleration / 48.0,
      stats.concealedSamples / 48.0);
  EXPECT_EQ(counters.stalls, 1u);
  EXPECT_EQ(counters.deadlines_missed, 19u);  // 4010..4190 ms; 4200 is served
  ASSERT_EQ(listener.missed.size(), 1u);
  EXPECT_EQ(listener.missed[0], 19);
  EXPECT_EQ(max_blocks_per_ms, 1);  // never a burst
  // Deadlines 0..end_ms, each served or skipped once.
  EXPECT_EQ(counters.blocks + counters.deadlines_missed, static_cast<uint64_t>(end_ms / 10 + 1));
  // Nothing dropped, nothing concealed: the stall's audio waits in the buffer and is
  // accelerated away.
  EXPECT_EQ(stats.packetsDiscarded, 0u);
  EXPECT_EQ(stats.concealedSamples, 0u);
  EXPECT_TRUE(listener.starts.empty());
  EXPECT_GT(peak, last.target_delay_ms + 150);
  // Back to the steady state: the level's floor over the last second below the point
  // where acceleration stops (DecisionConfig::accelerate_spare_ms above a block).
  double floor = 1e9;
  for (size_t b = sink.infos.size() - 100; b < sink.infos.size(); ++b) {
    floor = std::min(floor, sink.infos[b].buffer_delay_ms);
  }
  std::printf("stall: level floor over the last second %.1f ms\n", floor);
  EXPECT_LT(floor, 10 + DecisionConfig{}.accelerate_spare_ms);
  EXPECT_TRUE(player.WithEngine([](PlayoutEngine& e) { return e.CheckInvariants().ok(); }));
}

// --- Clock drift --------------------------------------------------------------------------

// Keeps the range of the buffer level after warm-up; counts samples.
class LevelSink final : public AudioSink {
 public:
  explicit LevelSink(int warmup_blocks) : warmup_blocks_(warmup_blocks) {}
  void OnAudio(std::span<const int16_t> /*block*/, const PlayoutEngine::BlockInfo& info) override {
    if (++blocks_ <= warmup_blocks_) return;
    const double level = info.buffer_delay_ms - info.target_delay_ms;
    min_over_target = std::min(min_over_target, level);
    max_over_target = std::max(max_over_target, level);
    min_target = std::min(min_target, info.target_delay_ms);
    max_target = std::max(max_target, info.target_delay_ms);
  }
  double min_over_target = 1e9, max_over_target = -1e9;
  double min_target = 1e9, max_target = -1e9;

 private:
  const int warmup_blocks_;
  int blocks_ = 0;
};

struct DriftRun {
  PlayoutStatistics stats;
  double min_over_target = 0, max_over_target = 0, min_target = 0, max_target = 0;
  double final_buffer_ms = 0;
};

// `minutes` of call with the sender's clock off by `ppm` (> 0: fast): packet i (20 i ms
// of sender time) arrives at 20 i / (1 + ppm 1e-6) ms + 20 ms + jitter in [0, 8) ms
// (deterministic), pulls every 10 ms of the receiver's clock.
DriftRun RunDrift(double ppm, int minutes, int rate_hz) {
  SimulatedClock clock;
  SimulatedWaiter waiter(clock);
  LevelSink sink(/*warmup_blocks=*/6000);  // 60 s
  PlayoutEngineConfig config;
  config.output_rate_hz = rate_hz;
  RealtimePlayer player(clock, waiter, config, sink);
  const auto t0 = clock.Now();
  const int64_t packets = int64_t{minutes} * 60 * 1000 / kPacketMs;
  uint32_t lcg = 12345;
  for (int64_t i = 0; i < packets; ++i) {
    lcg = lcg * 1664525u + 1013904223u;
    const double jitter_ms = (lcg >> 8) % 8000 / 1000.0;
    const double arrival_ms = i * kPacketMs / (1 + ppm * 1e-6) + 20 + jitter_ms;
    const auto arrival = t0 + std::chrono::duration_cast<Clock::Duration>(
                                  std::chrono::duration<double, std::milli>(arrival_ms));
    if (arrival > clock.Now()) player.RunFor(arrival - clock.Now());
    EXPECT_TRUE(player.InsertPacket(StreamPacket(i)).ok());
  }
  DriftRun run;
  run.stats = player.stats();
  run.min_over_target = sink.min_over_target;
  run.max_over_target = sink.max_over_target;
  run.min_target = sink.min_target;
  run.max_target = sink.max_target;
  run.final_buffer_ms = player.WithEngine([](PlayoutEngine& e) { return e.buffered_ms(); });
  EXPECT_TRUE(player.WithEngine([](PlayoutEngine& e) { return e.CheckInvariants().ok(); }));
  return run;
}

void ReportDrift(const char* name, double ppm, const DriftRun& r, int rate_hz) {
  const auto& st = r.stats;
  const double played = static_cast<double>(st.totalSamplesReceived);
  std::printf(
      "%s %+.0f ppm: %.1f min played, target %.1f..%.1f ms, level - target %.1f..%.1f ms, "
      "removed %.1f ppm, inserted %.1f ppm, concealed %.1f ms, discarded %llu, "
      "late %llu, overflow %llu\n",
      name, ppm, played / rate_hz / 60, r.min_target, r.max_target, r.min_over_target,
      r.max_over_target, 1e6 * double(st.removedSamplesForAcceleration) / played,
      1e6 * double(st.insertedSamplesForDeceleration) / played,
      1000.0 * double(st.concealedSamples) / rate_hz,
      static_cast<unsigned long long>(st.packetsDiscarded),
      static_cast<unsigned long long>(st.late_packets),
      static_cast<unsigned long long>(st.overflow_dropped_packets));
}

// After a minute of warm-up the buffer level (before each block) stays within
// [target - kBelowMs, target + kAboveMs]: the packet sawtooth (20 ms), the jitter (8 ms)
// and the floor rule's hysteresis (DecisionConfig: spare between 10 and 30 ms).
constexpr double kBelowMs = 5;
constexpr double kAboveMs = 60;

void ExpectDriftFollowedByStretching(double ppm, const DriftRun& r, int rate_hz) {
  const auto& st = r.stats;
  const double played = static_cast<double>(st.totalSamplesReceived);
  EXPECT_GE(played, 59.9 * 60 * rate_hz);
  EXPECT_GE(r.min_over_target, -kBelowMs);
  EXPECT_LE(r.max_over_target, kAboveMs);
  // Not by dropping or concealing.
  EXPECT_EQ(st.packetsDiscarded, 0u);
  EXPECT_EQ(st.late_packets, 0u);
  EXPECT_EQ(st.overflow_dropped_packets, 0u);
  EXPECT_EQ(st.concealedSamples, 0u);
  // By stretching, at the drift's rate within a factor of 2, the other way hardly at all.
  const double removed_ppm = 1e6 * double(st.removedSamplesForAcceleration) / played;
  const double inserted_ppm = 1e6 * double(st.insertedSamplesForDeceleration) / played;
  const double drift_ppm = ppm > 0 ? removed_ppm : inserted_ppm;
  const double other_ppm = ppm > 0 ? inserted_ppm : removed_ppm;
  EXPECT_GE(drift_ppm, std::abs(ppm) / 2);
  EXPECT_LE(drift_ppm, std::abs(ppm) * 2);
  EXPECT_LE(other_ppm, std::abs(ppm) / 4);
  EXPECT_LE(removed_ppm + inserted_ppm, 0.10 * 1e6);  // stretched <= 10 %
}

// An hour at 16 kHz output (Opus decodes at 16 kHz; the RTP clock stays 48 kHz): 360 000
// pulls, about 4 s each in a release build.
TEST(RealtimePlayerDrift, FastSenderIsAcceleratedForAnHour) {
  const double ppm = 200;
  const DriftRun r = RunDrift(ppm, 60, 16000);
  ReportDrift("drift", ppm, r, 16000);
  ExpectDriftFollowedByStretching(ppm, r, 16000);
}

TEST(RealtimePlayerDrift, SlowSenderIsDeceleratedForAnHour) {
  const double ppm = -200;
  const DriftRun r = RunDrift(ppm, 60, 16000);
  ReportDrift("drift", ppm, r, 16000);
  ExpectDriftFollowedByStretching(ppm, r, 16000);
}

}  // namespace
}  // namespace parley::playout
