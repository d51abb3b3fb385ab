#include "parley/rtp/rtcp_scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace parley::rtp {
namespace {

using namespace std::chrono_literals;

double Seconds(Clock::Duration d) { return std::chrono::duration<double>(d).count(); }

TEST(RtcpSchedulerTest, FirstReportUsesHalfTheMinimum) {
  SimulatedClock clock;
  std::mt19937_64 rng(1);
  RtcpScheduler scheduler(clock, rng);
  EXPECT_TRUE(scheduler.initial());
  EXPECT_DOUBLE_EQ(Seconds(scheduler.DeterministicInterval()), 2.5);
  const double first = Seconds(scheduler.NextReportTime() - clock.Now());
  EXPECT_GE(first, 2.5 * 0.5 / RtcpScheduler::kCompensation);
  EXPECT_LE(first, 2.5 * 1.5 / RtcpScheduler::kCompensation);
}

TEST(RtcpSchedulerTest, IntervalMeanAndBoundsOverManyDraws) {
  SimulatedClock clock;
  std::mt19937_64 rng(42);
  RtcpScheduler scheduler(clock, rng);
  scheduler.OnReportSent(72);  // no longer initial: Tmin = 5 s
  scheduler.SetMembers(2);
  const double td = Seconds(scheduler.DeterministicInterval());
  ASSERT_DOUBLE_EQ(td, 5.0);
  constexpr int kDraws = 100000;
  double sum = 0, lo = 1e9, hi = 0;
  for (int i = 0; i < kDraws; ++i) {
    const double t = Seconds(scheduler.DrawInterval());
    sum += t;
    lo = std::min(lo, t);
    hi = std::max(hi, t);
  }
  // Uniform on [0.5, 1.5] x Td / (e - 1.5): mean Td / 1.21828 = 4.104 s, range 2.05..6.16 s.
  EXPECT_NEAR(sum / kDraws, 5.0 / RtcpScheduler::kCompensation, 0.01);
  EXPECT_GE(lo, 2.5 / RtcpScheduler::kCompensation);
  EXPECT_LE(hi, 7.5 / RtcpScheduler::kCompensation);
  EXPECT_LT(lo, 2.06);  // both ends of the range are reached
  EXPECT_GT(hi, 6.15);
}

TEST(RtcpSchedulerTest, LargeSessionScalesWithMembersAndBandwidthShares) {
  SimulatedClock clock;
  std::mt19937_64 rng(7);
  RtcpSchedulerConfig config;
  config.session_bandwidth_bps = 64000;  // RTCP: 400 bytes/s
  config.initial_avg_rtcp_bytes = 100;
  RtcpScheduler scheduler(clock, rng, config);
  scheduler.SetMembers(1000);
  scheduler.SetSenders(10);
  // Receiver: 75 % of 400 B/s shared by 990 receivers of 100 bytes: 990 * 100 / 300 = 330 s.
  EXPECT_NEAR(Seconds(scheduler.DeterministicInterval()), 330.0, 1e-6);
  // Sender: 25 % shared by 10 senders: 10 * 100 / 100 = 10 s.
  scheduler.SetWeSent(true);
  EXPECT_NEAR(Seconds(scheduler.DeterministicInterval()), 10.0, 1e-6);
  // Senders above 25 % of members: everyone shares the whole 400 B/s.
  scheduler.SetSenders(500);
  EXPECT_NEAR(Seconds(scheduler.DeterministicInterval()), 1000 * 100 / 400.0, 1e-6);
}

TEST(RtcpSchedulerTest, ReducedMinimumFollowsBandwidth) {
  SimulatedClock clock;
  std::mt19937_64 rng(3);
  RtcpSchedulerConfig config;
  config.session_bandwidth_bps = 720000;  // 360 / 720 kbit/s = 0.5 s
  config.reduced_minimum = true;
  RtcpScheduler scheduler(clock, rng, config);
  EXPECT_DOUBLE_EQ(Seconds(scheduler.DeterministicInterval()), 0.25);  // halved at first
  scheduler.OnReportSent(100);
  EXPECT_DOUBLE_EQ(Seconds(scheduler.DeterministicInterval()), 0.5);
}

TEST(RtcpSchedulerTest, TenMinutesOfCallInSimulatedTime) {
  SimulatedClock clock;
  std::mt19937_64 rng(2024);
  RtcpScheduler scheduler(clock, rng);
  scheduler.SetMembers(2);
  scheduler.SetSenders(2);
  scheduler.SetWeSent(true);
  int reports = 0;
  Clock::TimePoint previous = clock.Now();
  std::vector<double> gaps;
  const Clock::TimePoint end = clock.Now() + 10min;
  while (clock.Now() < end) {
    clock.Advance(1ms);  // a 1 ms timer tick
    if (clock.Now() < scheduler.NextReportTime()) continue;
    if (!scheduler.OnTimer()) continue;  // reconsidered: later
    scheduler.OnReportSent(80);
    scheduler.OnReportReceived(80);  // the peer's report
    gaps.push_back(Seconds(clock.Now() - previous));
    previous = clock.Now();
    ++reports;
  }
  // Mean interval near 5 s / 1.21828 = 4.10 s, yet timer reconsideration with random
  // redraws delays some: between 4.1 and 5 s on average; 600 s gives 120..150 reports.
  EXPECT_GE(reports, 115);
  EXPECT_LE(reports, 150);
  for (size_t i = 1; i < gaps.size(); ++i) {
    EXPECT_GE(gaps[i], 2.5 / RtcpScheduler::kCompensation - 0.002);
    EXPECT_LE(gaps[i], 7.5 / RtcpScheduler::kCompensation + 0.002);
  }
  EXPECT_NEAR(scheduler.avg_rtcp_bytes(), 80 + RtcpScheduler::kIpUdpOverheadBytes, 0.5);
}

TEST(RtcpSchedulerTest, MembersLeavingPullTheNextReportIn) {
  SimulatedClock clock;
  std::mt19937_64 rng(9);
  RtcpSchedulerConfig config;
  config.initial_avg_rtcp_bytes = 200;
  RtcpScheduler scheduler(clock, rng, config);
  scheduler.SetMembers(400);
  scheduler.OnReportSent(200);  // pmembers = 400
  const Clock::TimePoint next = scheduler.NextReportTime();
  clock.Advance(10s);
  ASSERT_GT(next, clock.Now());
  scheduler.SetMembers(100);  // three quarters left (BYE or timeout)
  const double remaining_before = Seconds(next - clock.Now());
  const double remaining_after = Seconds(scheduler.NextReportTime() - clock.Now());
  EXPECT_NEAR(remaining_after, remaining_before * 100 / 400, 1e-6);
}

TEST(RtcpSchedulerTest, SameSeedSameSchedule) {
  SimulatedClock clock;
  std::mt19937_64 a(5), b(5);
  RtcpScheduler first(clock, a), second(clock, b);
  EXPECT_EQ(first.NextReportTime(), second.NextReportTime());
}

TEST(RtcpSchedulerTest, ValidatesConfig) {
  RtcpSchedulerConfig config;
  EXPECT_TRUE(ValidateRtcpSchedulerConfig(config).ok());
  config.session_bandwidth_bps = 0;
  EXPECT_FALSE(ValidateRtcpSchedulerConfig(config).ok());
  config = {};
  config.sender_fraction = 1.0;
  EXPECT_FALSE(ValidateRtcpSchedulerConfig(config).ok());
  config = {};
  config.min_interval = 0ms;
  EXPECT_FALSE(ValidateRtcpSchedulerConfig(config).ok());
}

}  // namespace
}  // namespace parley::rtp
