#include "parley/playout/delay_manager.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace parley::playout {
namespace {

using std::chrono::milliseconds;

constexpr int kRate = 48000;
constexpr int64_t kTicksPer20Ms = 960;

// One packet of a simulated trace: its timestamp and when it arrived (ms since start).
struct Arrival {
  int64_t timestamp = 0;
  double arrival_ms = 0;
};

Clock::TimePoint At(double ms) {
  return Clock::TimePoint(
      std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double, std::milli>(ms)));
}

// 20 ms packets sent on time, delayed by base + jitter(i) ms, fed in arrival order.
template <typename JitterFn>
std::vector<Arrival> Trace(int packets, double base_ms, JitterFn jitter) {
  std::vector<Arrival> trace;
  trace.reserve(static_cast<size_t>(packets));
  for (int i = 0; i < packets; ++i) {
    trace.push_back({i * kTicksPer20Ms, i * 20.0 + base_ms + jitter(i)});
  }
  std::stable_sort(trace.begin(), trace.end(),
                   [](const Arrival& a, const Arrival& b) { return a.arrival_ms < b.arrival_ms; });
  return trace;
}

double Percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(q * static_cast<double>(values.size() - 1))];
}

TEST(DelayManagerTest, SteadyJitterGivesTargetAroundThe95thPercentile) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> uniform(0.0, 20.0);
  const std::vector<Arrival> trace = Trace(3000, 40.0, [&](int) { return uniform(rng); });
  DelayManager delay;
  std::vector<double> relative;
  double target_sum = 0;
  int target_count = 0;
  for (size_t i = 0; i < trace.size(); ++i) {
    relative.push_back(delay.Update(trace[i].timestamp, kRate, At(trace[i].arrival_ms)));
    if (i >= 1500) {
      target_sum += delay.target_ms();
      ++target_count;
    }
  }
  const double p95 = Percentile(relative, 0.95);
  EXPECT_NEAR(p95, 19.0, 1.5);
  // The histogram's quantile sits on the bucket edge above p95.
  ASSERT_TRUE(delay.quantile_ms());
  EXPECT_GE(*delay.quantile_ms(), p95);
  EXPECT_LE(*delay.quantile_ms(), p95 + 5.0);
  const double mean_target = target_sum / target_count;
  RecordProperty("p95_ms", std::to_string(p95));
  RecordProperty("mean_target_ms", std::to_string(mean_target));
  EXPECT_GE(mean_target, p95 - 1.0);
  EXPECT_LE(mean_target, p95 + 5.0);
}

TEST(DelayManagerTest, HeavyTailedJitterKeepsTargetNearItsQuantile) {
  // Exponential jitter (mean 10 ms): single tail samples do not move the target (only two
  // late packets in a row do), so on average it stays within a few ms of the 98th
  // percentile the histogram estimates.
  std::mt19937_64 rng(11);
  std::exponential_distribution<double> exponential(1.0 / 10.0);
  const std::vector<Arrival> trace = Trace(6000, 40.0, [&](int) { return exponential(rng); });
  DelayManager delay;
  std::vector<double> relative;
  double target_sum = 0;
  int target_count = 0;
  for (size_t i = 0; i < trace.size(); ++i) {
    relative.push_back(delay.Update(trace[i].timestamp, kRate, At(trace[i].arrival_ms)));
    if (i >= 3000) {
      target_sum += delay.target_ms();
      ++target_count;
    }
  }
  const double p98 = Percentile(relative, 0.98);
  const double mean_target = target_sum / target_count;
  RecordProperty("p98_ms", std::to_string(p98));
  RecordProperty("mean_target_ms", std::to_string(mean_target));
  EXPECT_GE(mean_target, p98 - 3.0);
  EXPECT_LE(mean_target, p98 + 6.0);
}

// A 300 ms stall: packets sent during it all arrive when it ends. The second of them
// confirms the step and raises the target at once to the smaller of the two delays; afterwards the
// target falls at most 40 ms/s, and is back within 10 ms of its baseline after N = 8 s.
TEST(DelayManagerTest, SpikeRaisesTargetAtOnceThenShrinksAtBoundedRate) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> small(0.0, 5.0);
  constexpr int kSpikeStart = 500;  // packet index (10 s in)
  constexpr double kStallMs = 300.0;
  const std::vector<Arrival> trace = Trace(1500, 30.0, [&](int i) {
    const double jitter = small(rng);
    const double sent = i * 20.0;
    const double stall_start = kSpikeStart * 20.0;
    if (sent >= stall_start && sent < stall_start + kStallMs) {
      // Released together, in order, when the stall ends.
      return stall_start + kStallMs - sent + 0.1 * (i - kSpikeStart);
    }
    return jitter;
  });
  DelayManager delay;
  const double decrease_per_s = delay.config().max_decrease_ms_per_s;
  double baseline = 0;
  double previous_target = 0;
  double previous_arrival = 0;
  double spike_end_ms = -1;
  double back_at_ms = -1;
  int late_arrivals = 0;
  double first_late = 0;
  for (const Arrival& a : trace) {
    const double relative = delay.Update(a.timestamp, kRate, At(a.arrival_ms));
    const int index = static_cast<int>(a.timestamp / kTicksPer20Ms);
    if (index == kSpikeStart - 1) baseline = delay.target_ms();
    if (index >= kSpikeStart && relative > 200.0 && ++late_arrivals <= 2) {
      if (late_arrivals == 1) {
        // The first late arrival alone does not move the target: it may be a stray.
        EXPECT_LT(delay.target_ms(), 100.0);
        spike_end_ms = a.arrival_ms;
        first_late = relative;
      } else {
        // The second confirms the step: the target covers both already.
        EXPECT_GE(delay.target_ms(), std::min(first_late, relative));
      }
    }
    if (spike_end_ms >= 0 && a.arrival_ms > spike_end_ms) {
      // Never falls faster than the configured rate.
      const double allowed = decrease_per_s * (a.arrival_ms - previous_arrival) / 1000.0;
      EXPECT_GE(delay.target_ms(), previous_target - allowed - 1e-6);
      if (back_at_ms < 0 && delay.target_ms() <= baseline + 10.0) back_at_ms = a.arrival_ms;
      if (a.arrival_ms < spike_end_ms + 1000.0) {
        EXPECT_GT(delay.target_ms(), 230.0);
      }
    }
    previous_target = delay.target_ms();
    previous_arrival = a.arrival_ms;
  }
  EXPECT_LE(baseline, 15.0);
  ASSERT_GE(back_at_ms, 0) << "target never came back to baseline";
  const double recovery_s = (back_at_ms - spike_end_ms) / 1000.0;
  RecordProperty("baseline_ms", std::to_string(baseline));
  RecordProperty("recovery_s", std::to_string(recovery_s));
  EXPECT_GT(recovery_s, 5.0);  // gradual, not a reset
  EXPECT_LE(recovery_s, 8.0);
}

TEST(DelayManagerTest, TargetIsClampedToMinAndMax) {
  DelayManagerConfig config;
  config.min_delay = milliseconds(40);
  config.max_delay = milliseconds(200);
  config.initial_target = milliseconds(60);
  config.max_buffer = milliseconds(400);
  DelayManager delay(config);
  for (int i = 0; i < 500; ++i) {  // no jitter at all
    delay.Update(i * kTicksPer20Ms, kRate, At(i * 20.0));
  }
  EXPECT_DOUBLE_EQ(delay.target_ms(), 40.0);
  // Two 500 ms late packets hit the ceiling.
  delay.Update(500 * kTicksPer20Ms, kRate, At(500 * 20.0 + 500.0));
  delay.Update(501 * kTicksPer20Ms, kRate, At(501 * 20.0 + 500.0));
  EXPECT_DOUBLE_EQ(delay.target_ms(), 200.0);
}

TEST(DelayManagerTest, FixedModeHoldsItsTarget) {
  DelayManager delay(DelayManagerConfig::Fixed());  // 3 and 60 frames of 20 ms
  EXPECT_EQ(delay.mode(), DelayMode::kFixed);
  EXPECT_DOUBLE_EQ(delay.target_ms(), 60.0);
  EXPECT_DOUBLE_EQ(delay.start_threshold_ms(), 60.0);
  EXPECT_EQ(delay.max_buffer(), milliseconds(1200));
  EXPECT_FALSE(delay.ShouldStartPlayout(60.0, At(0)));  // nothing arrived yet
  delay.Update(0, 8000, At(0));
  EXPECT_FALSE(delay.ShouldStartPlayout(40.0, At(40)));
  EXPECT_TRUE(delay.ShouldStartPlayout(60.0, At(40)));
  // No time-out: it waits for the third frame as a simple WebSocket client does.
  EXPECT_FALSE(delay.ShouldStartPlayout(40.0, At(10'000)));
  // Spikes do not move it.
  delay.Update(160, 8000, At(20 + 500));
  EXPECT_DOUBLE_EQ(delay.target_ms(), 60.0);
  EXPECT_GT(*delay.last_relative_delay_ms(), 400.0);  // still measured
  // Other frame sizes.
  DelayManager fixed10(DelayManagerConfig::Fixed(milliseconds(10), 4, 100));
  EXPECT_DOUBLE_EQ(fixed10.target_ms(), 40.0);
  EXPECT_EQ(fixed10.max_buffer(), milliseconds(1000));
  EXPECT_THROW(DelayManagerConfig::Fixed(milliseconds(20), 0, 60), std::invalid_argument);
  EXPECT_THROW(DelayManagerConfig::Fixed(milliseconds(20), 5, 4), std::invalid_argument);
  EXPECT_THROW(DelayManagerConfig::Fixed(milliseconds(0)), std::invalid_argument);
}

// An hour of call with the sender's clock off by +-200 ppm: the raw delay drifts by
// 720 ms over the hour, but against the 2 s sliding minimum it adds at most 0.4 ms, so the
// target stays where the jitter puts it.
TEST(DelayManagerTest, ClockDriftOf200PpmForAnHourKeepsTargetBounded) {
  for (double ppm : {200.0, -200.0}) {
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> uniform(0.0, 20.0);
    constexpr int kPackets = 60 * 60 * 50;  // one hour of 20 ms packets
    DelayManager delay;
    double max_target = 0;
    double relative_first = 0;
    double relative_last = 0;
    for (int i = 0; i < kPackets; ++i) {
      // The sender's 20 ms last 20 x (1 + ppm) ms of our time.
      const double sent_ms = i * 20.0 * (1.0 + ppm * 1e-6);
      const double relative =
          delay.Update(i * kTicksPer20Ms, kRate, At(sent_ms + 50.0 + uniform(rng)));
      if (i >= 3000) max_target = std::max(max_target, delay.target_ms());
      if (i < 15000) relative_first += relative;             // first 5 minutes
      if (i >= kPackets - 15000) relative_last += relative;  // last 5 minutes
    }
    SCOPED_TRACE(ppm);
    RecordProperty(ppm > 0 ? "max_target_ms_plus_200ppm" : "max_target_ms_minus_200ppm",
                   std::to_string(max_target));
    EXPECT_LE(max_target, 30.0);
    EXPECT_NEAR(relative_last / 15000, relative_first / 15000, 1.0);
  }
}

// First audio at most 80 ms after the first packet, with an engine asking every 10 ms.
TEST(DelayManagerTest, FirstAudioWithin80Ms) {
  struct Case {
    const char* name;
    std::vector<double> arrivals_ms;  // after the first packet; 20 ms packets
  };
  const std::vector<Case> cases = {
      {"steady", {0, 20, 40, 60, 80, 100}},
      {"only one packet, then loss", {0}},
      {"jittery start", {0, 45, 50, 120, 121}},
      {"burst", {0, 0, 0, 0, 0}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    for (int phase_ms = 0; phase_ms < 10; ++phase_ms) {
      SimulatedClock clock;
      clock.Advance(milliseconds(1000 + phase_ms));  // pulls happen at multiples of 10 ms
      const Clock::TimePoint first = clock.Now();
      DelayManager delay;
      size_t next = 0;
      double buffered_ms = 0;
      std::optional<Clock::Duration> started_after;
      for (int ms = 0; ms <= 200 && !started_after; ++ms) {
        const Clock::TimePoint now = clock.Now();
        while (next < c.arrivals_ms.size() && now - first >= At(c.arrivals_ms[next]) - At(0)) {
          delay.Update(static_cast<int64_t>(next) * kTicksPer20Ms, kRate, now);
          buffered_ms += 20.0;
          ++next;
        }
        const bool pull = (now.time_since_epoch() / milliseconds(1)) % 10 == 0;
        if (pull && delay.ShouldStartPlayout(buffered_ms, now)) started_after = now - first;
        clock.Advance(milliseconds(1));
      }
      ASSERT_TRUE(started_after);
      EXPECT_LE(*started_after, milliseconds(80));
    }
  }
}

TEST(DelayManagerTest, ReorderedPacketCountsAsDelayed) {
  DelayManager delay;
  for (int i = 0; i < 100; ++i) delay.Update(i * kTicksPer20Ms, kRate, At(i * 20.0));
  // Packets 102 and 103 arrive on time, then 100 and 101 50 ms late.
  delay.Update(102 * kTicksPer20Ms, kRate, At(102 * 20.0));
  delay.Update(103 * kTicksPer20Ms, kRate, At(103 * 20.0));
  EXPECT_NEAR(delay.Update(100 * kTicksPer20Ms, kRate, At(100 * 20.0 + 50.0)), 50.0, 1e-6);
  EXPECT_NEAR(delay.Update(101 * kTicksPer20Ms, kRate, At(101 * 20.0 + 50.0)), 50.0, 1e-6);
  EXPECT_GE(delay.target_ms(), 50.0);
  // The next in-order packet is measured against the undisturbed minimum.
  EXPECT_NEAR(delay.Update(104 * kTicksPer20Ms, kRate, At(104 * 20.0)), 0.0, 1e-6);
}

TEST(DelayManagerTest, RoundsTargetToPackets) {
  DelayManager delay;  // initial target 60 ms
  EXPECT_DOUBLE_EQ(delay.TargetRoundedToPackets(20.0), 60.0);
  EXPECT_DOUBLE_EQ(delay.TargetRoundedToPackets(40.0), 80.0);
  EXPECT_DOUBLE_EQ(delay.TargetRoundedToPackets(100.0), 100.0);
}

TEST(DelayManagerTest, ResetReturnsToInitialTarget) {
  DelayManager delay;
  delay.Update(0, kRate, At(0));
  delay.Update(kTicksPer20Ms, kRate, At(20 + 400));
  EXPECT_GT(delay.target_ms(), 300.0);
  delay.Reset();
  EXPECT_DOUBLE_EQ(delay.target_ms(), 60.0);
  EXPECT_FALSE(delay.last_relative_delay_ms());
  EXPECT_FALSE(delay.quantile_ms());
  EXPECT_FALSE(delay.ShouldStartPlayout(1000.0, At(1000)));
}

TEST(DelayManagerTest, InvalidUseThrows) {
  auto make = [](auto edit) {
    DelayManagerConfig config;
    edit(config);
    return DelayManager(config);
  };
  EXPECT_THROW(make([](DelayManagerConfig& c) { c.quantile = 1.0; }), std::invalid_argument);
  EXPECT_THROW(make([](DelayManagerConfig& c) { c.forget_factor = 0.0; }), std::invalid_argument);
  EXPECT_THROW(make([](DelayManagerConfig& c) { c.min_delay = milliseconds(-1); }),
               std::invalid_argument);
  EXPECT_THROW(make([](DelayManagerConfig& c) { c.max_delay = milliseconds(10); }),
               std::invalid_argument);  // below the 60 ms initial target
  EXPECT_THROW(make([](DelayManagerConfig& c) { c.max_buffer = milliseconds(500); }),
               std::invalid_argument);  // below max_delay
  EXPECT_THROW(make([](DelayManagerConfig& c) { c.max_decrease_ms_per_s = 0; }),
               std::invalid_argument);
  EXPECT_THROW(make([](DelayManagerConfig& c) { c.bucket = milliseconds(0); }),
               std::invalid_argument);
  DelayManager delay;
  EXPECT_THROW(delay.Update(0, 0, At(0)), std::invalid_argument);
}

}  // namespace
}  // namespace parley::playout
