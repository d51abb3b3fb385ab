#include "parley/playout/playout_statistics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <stdexcept>

namespace parley::playout {
namespace {

using std::chrono::milliseconds;

constexpr int kRate = 48000;
constexpr uint64_t kBlock = 480;  // 10 ms at 48 kHz

TEST(PlayoutStatisticsTest, NormalAccelerateDecelerateBlocks) {
  PlayoutStatisticsRecorder recorder(kRate);
  recorder.OnNormal(kBlock);
  recorder.OnEmitted(kBlock);
  recorder.OnNormal(kBlock);
  recorder.OnAccelerate(120);
  recorder.OnEmitted(kBlock - 120);
  recorder.OnNormal(kBlock);
  recorder.OnDecelerate(80);
  recorder.OnEmitted(kBlock + 80);
  const PlayoutStatistics& s = recorder.stats();
  EXPECT_EQ(s.totalSamplesReceived, 3 * kBlock - 40);
  EXPECT_EQ(s.removedSamplesForAcceleration, 120u);
  EXPECT_EQ(s.insertedSamplesForDeceleration, 80u);
  EXPECT_EQ(s.concealmentEvents, 0u);
  EXPECT_TRUE(recorder.CheckInvariants().ok());
}

TEST(PlayoutStatisticsTest, ConcealmentEventsAndInterruptions) {
  PlayoutStatisticsRecorder recorder(kRate);
  auto conceal_ms = [&](int ms, bool silent) {
    for (int i = 0; i < ms / 10; ++i) {
      recorder.OnConcealed(kBlock, silent);
      recorder.OnEmitted(kBlock);
    }
  };
  auto normal = [&] {
    recorder.OnNormal(kBlock);
    recorder.OnEmitted(kBlock);
  };
  normal();
  conceal_ms(40, false);  // a short event: not an interruption
  normal();
  conceal_ms(100, false);  // 100 + 60 ms in one event, partly silent: an interruption
  conceal_ms(60, true);
  EXPECT_EQ(recorder.current_concealment_samples(), 16 * kBlock);
  EXPECT_EQ(recorder.stats().interruptionCount, 0u);  // counted when the event ends
  normal();
  const PlayoutStatistics& s = recorder.stats();
  EXPECT_EQ(s.concealmentEvents, 2u);
  EXPECT_EQ(s.concealedSamples, 20 * kBlock);
  EXPECT_EQ(s.silentConcealedSamples, 6 * kBlock);
  EXPECT_EQ(s.interruptionCount, 1u);
  EXPECT_NEAR(s.totalInterruptionDuration, 0.160, 1e-9);
  EXPECT_EQ(recorder.current_concealment_samples(), 0u);
  EXPECT_TRUE(recorder.CheckInvariants().ok());
}

TEST(PlayoutStatisticsTest, ExactlyThreshold150MsIsAnInterruption) {
  PlayoutStatisticsRecorder recorder(8000);
  recorder.OnConcealed(1200, false);  // 150 ms at 8 kHz
  recorder.OnEmitted(1200);
  recorder.OnNormal(80);
  recorder.OnEmitted(80);
  EXPECT_EQ(recorder.stats().interruptionCount, 1u);
  EXPECT_NEAR(recorder.stats().totalInterruptionDuration, 0.150, 1e-12);
}

TEST(PlayoutStatisticsTest, ZeroFillCountsRunsAndIsSilentConcealment) {
  PlayoutStatisticsRecorder recorder(kRate);
  recorder.OnUnderflow();
  recorder.OnZeroFill(kBlock);
  recorder.OnZeroFill(kBlock);  // same run
  recorder.OnConcealed(kBlock, false);
  recorder.OnZeroFill(kBlock);  // a new run within the same concealment event
  recorder.OnEmitted(4 * kBlock);
  const PlayoutStatistics& s = recorder.stats();
  EXPECT_EQ(s.underflows, 1u);
  EXPECT_EQ(s.zero_fill_events, 2u);
  EXPECT_EQ(s.zero_filled_samples, 3 * kBlock);
  EXPECT_EQ(s.concealmentEvents, 1u);
  EXPECT_EQ(s.silentConcealedSamples, 3 * kBlock);
  EXPECT_TRUE(recorder.CheckInvariants().ok());
}

TEST(PlayoutStatisticsTest, JitterBufferSumsArePerSample) {
  PlayoutStatisticsRecorder recorder(kRate);
  recorder.OnJitterBufferEmitted(kBlock, milliseconds(40), milliseconds(60), milliseconds(0));
  recorder.OnJitterBufferEmitted(kBlock, milliseconds(80), milliseconds(60), milliseconds(20));
  const PlayoutStatistics& s = recorder.stats();
  EXPECT_EQ(s.jitterBufferEmittedCount, 2 * kBlock);
  // Average delay = sum / count = 60 ms.
  EXPECT_NEAR(s.jitterBufferDelay / static_cast<double>(s.jitterBufferEmittedCount), 0.060, 1e-12);
  EXPECT_NEAR(s.jitterBufferTargetDelay / static_cast<double>(s.jitterBufferEmittedCount), 0.060,
              1e-12);
  EXPECT_NEAR(s.jitterBufferMinimumDelay / static_cast<double>(s.jitterBufferEmittedCount), 0.010,
              1e-12);
}

TEST(PlayoutStatisticsTest, CopiesPacketBufferCounters) {
  PacketBuffer::Stats buffer;
  buffer.late = 3;
  buffer.duplicates = 4;
  buffer.overflow_dropped = 5;
  buffer.discarded_old = 1;
  buffer.flushed = 2;
  buffer.redundant_received = 9;
  buffer.redundant_discarded = 7;
  PlayoutStatisticsRecorder recorder(kRate);
  recorder.SetPacketCounts(buffer);
  const PlayoutStatistics& s = recorder.stats();
  EXPECT_EQ(s.packetsDiscarded, 11u);  // duplicates excluded, as W3C says
  EXPECT_EQ(s.late_packets, 3u);
  EXPECT_EQ(s.duplicate_packets, 4u);
  EXPECT_EQ(s.overflow_dropped_packets, 5u);
  EXPECT_EQ(s.fecPacketsReceived, 9u);
  EXPECT_EQ(s.fecPacketsDiscarded, 7u);
}

TEST(PlayoutStatisticsTest, CheckInvariantsCatchesAMissingEmit) {
  PlayoutStatisticsRecorder recorder(kRate);
  recorder.OnNormal(kBlock);
  const Status status = recorder.CheckInvariants();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("emitted 0"), std::string::npos);
}

// A random engine: each 10 ms block is normal, accelerated, decelerated, concealed (loud or
// silent), zero-filled or a mix, at varying sample rates; the invariants hold after each.
TEST(PlayoutStatisticsTest, InvariantHoldsOverRandomOperations) {
  std::mt19937_64 rng(2024);
  PlayoutStatisticsRecorder recorder(kRate);
  uint64_t expected_events = 0;
  bool concealing = false;
  for (int block = 0; block < 20'000; ++block) {
    if (block % 5000 == 4999)
      recorder.SetSampleRate(std::uniform_int_distribution<int>(0, 1)(rng) ? 16000 : 48000);
    const uint64_t n = std::uniform_int_distribution<uint64_t>(1, 960)(rng);
    uint64_t emitted = 0;
    switch (std::uniform_int_distribution<int>(0, 6)(rng)) {
      case 0:
        recorder.OnNormal(n);
        emitted = n;
        concealing = false;
        break;
      case 1: {
        const uint64_t removed = std::uniform_int_distribution<uint64_t>(1, n)(rng);
        recorder.OnNormal(n);
        recorder.OnAccelerate(removed);
        emitted = n - removed;
        concealing = false;
        break;
      }
      case 2: {
        const uint64_t inserted = std::uniform_int_distribution<uint64_t>(1, n)(rng);
        recorder.OnNormal(n);
        recorder.OnDecelerate(inserted);
        emitted = n + inserted;
        concealing = false;
        break;
      }
      case 3:
      case 4:
        if (!concealing) ++expected_events;
        recorder.OnUnderflow();
        recorder.OnConcealed(n, std::bernoulli_distribution(0.3)(rng));
        emitted = n;
        concealing = true;
        break;
      case 5:
        if (!concealing) ++expected_events;
        recorder.OnZeroFill(n);
        emitted = n;
        concealing = true;
        break;
      default: {  // concealment ending in real audio within one block (a merge)
        if (!concealing) ++expected_events;
        const uint64_t real = std::uniform_int_distribution<uint64_t>(1, 480)(rng);
        recorder.OnConcealed(n, false);
        recorder.OnNormal(real);
        emitted = n + real;
        concealing = false;
        break;
      }
    }
    recorder.OnEmitted(emitted);
    recorder.OnJitterBufferEmitted(n, milliseconds(50), milliseconds(60), milliseconds(0));
    const Status status = recorder.CheckInvariants();
    ASSERT_TRUE(status.ok()) << "block " << block << ": " << status.error().message;
  }
  EXPECT_EQ(recorder.stats().concealmentEvents, expected_events);
  EXPECT_GT(recorder.stats().interruptionCount, 0u);
}

TEST(PlayoutStatisticsTest, InvalidSampleRateThrows) {
  EXPECT_THROW(PlayoutStatisticsRecorder(0), std::invalid_argument);
  PlayoutStatisticsRecorder recorder(kRate);
  EXPECT_THROW(recorder.SetSampleRate(-1), std::invalid_argument);
}

}  // namespace
}  // namespace parley::playout
