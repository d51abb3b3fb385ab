#include "parley/playout/time_stretch.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "parley/playout/playout_dsp_test_util.h"
#include "parley/testing/signals.h"
#include "parley/testing/speech.h"

namespace parley::playout {
namespace {

constexpr double kMaxClickRatio = 2.0;

std::vector<int16_t> WhiteNoise(size_t n, double rms, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(0.0, rms);
  std::vector<int16_t> out(n);
  for (auto& v : out) v = static_cast<int16_t>(std::clamp(dist(rng), -32768.0, 32767.0));
  return out;
}

class TimeStretchSpeechTest : public ::testing::TestWithParam<int> {};

TEST_P(TimeStretchSpeechTest, AccelerateRemovesOnePeriodOfVoicedSpeechWithoutClick) {
  const int rate = GetParam();
  const std::vector<int16_t> speech = testing::Speech(rate);
  const int block = rate * 40 / 1000;
  const std::vector<size_t> voiced = test::VoicedBlocks(speech, rate, block, block, 0.95);
  ASSERT_GE(voiced.size(), 5u);
  TimeStretch stretch({.format = {rate, 1}});
  std::vector<int16_t> out(static_cast<size_t>(block));
  double worst_click = 0.0;
  size_t acted = 0;
  for (size_t start : voiced) {
    if (start == 0) continue;
    const std::span<const int16_t> in(speech.data() + start, static_cast<size_t>(block));
    const StretchResult r = stretch.Accelerate(in, out);
    if (r.frames_changed == 0) continue;  // the two periods correlate below 0.9
    ++acted;
    const int lag = r.lag_frames;
    EXPECT_EQ(r.frames_changed, lag);
    EXPECT_EQ(r.frames_written, block - lag);
    EXPECT_GE(lag, rate * 25 / 10000);
    EXPECT_LE(lag, rate * 20 / 1000);
    EXPECT_GE(r.correlation, 0.9);
    // The rest is the input after the two periods, untouched.
    EXPECT_TRUE(
        std::equal(out.begin() + lag, out.begin() + r.frames_written, in.begin() + 2 * lag));
    std::vector<int16_t> played(speech.begin() + static_cast<std::ptrdiff_t>(start) - 1,
                                speech.begin() + static_cast<std::ptrdiff_t>(start));
    played.insert(played.end(), out.begin(), out.begin() + r.frames_written);
    const double click = test::ClickRatio(played, 1, static_cast<size_t>(lag) + 2, in);
    worst_click = std::max(worst_click, click);
    EXPECT_LE(click, kMaxClickRatio) << "at " << start;
    // Similar: the crossfaded period is close to the period it replaces.
    EXPECT_GT(testing::SnrDb(in.subspan(static_cast<size_t>(lag), static_cast<size_t>(lag)),
                             std::span<const int16_t>(out).first(static_cast<size_t>(lag))),
              3.0);
  }
  EXPECT_GE(acted, voiced.size() * 8 / 10);
  std::printf("accelerate %d Hz: %zu of %zu voiced blocks, worst click ratio %.2f\n", rate, acted,
              voiced.size(), worst_click);
}

TEST_P(TimeStretchSpeechTest, PreemptiveExpandInsertsOnePeriodOfVoicedSpeechWithoutClick) {
  const int rate = GetParam();
  const std::vector<int16_t> speech = testing::Speech(rate);
  const int block = rate * 40 / 1000;
  const std::vector<size_t> voiced = test::VoicedBlocks(speech, rate, block, block, 0.95);
  ASSERT_GE(voiced.size(), 5u);
  TimeStretch stretch({.format = {rate, 1}});
  std::vector<int16_t> out(static_cast<size_t>(block + stretch.max_lag_frames()));
  double worst_click = 0.0;
  size_t acted = 0;
  for (size_t start : voiced) {
    if (start == 0) continue;
    const std::span<const int16_t> in(speech.data() + start, static_cast<size_t>(block));
    const StretchResult r = stretch.PreemptiveExpand(in, out);
    if (r.frames_changed == 0) continue;
    ++acted;
    const int lag = r.lag_frames;
    EXPECT_EQ(r.frames_written, block + lag);
    EXPECT_TRUE(std::equal(out.begin(), out.begin() + lag, in.begin()));
    EXPECT_TRUE(
        std::equal(out.begin() + 2 * lag, out.begin() + r.frames_written, in.begin() + lag));
    std::vector<int16_t> played(speech.begin() + static_cast<std::ptrdiff_t>(start) - 1,
                                speech.begin() + static_cast<std::ptrdiff_t>(start));
    played.insert(played.end(), out.begin(), out.begin() + r.frames_written);
    const double click = test::ClickRatio(played, 1, static_cast<size_t>(3 * lag) + 2, in);
    worst_click = std::max(worst_click, click);
    EXPECT_LE(click, kMaxClickRatio) << "at " << start;
  }
  EXPECT_GE(acted, voiced.size() * 8 / 10);
  std::printf("preemptive expand %d Hz: %zu of %zu voiced blocks, worst click ratio %.2f\n", rate,
              acted, voiced.size(), worst_click);
}

INSTANTIATE_TEST_SUITE_P(TimeStretch, TimeStretchSpeechTest, ::testing::Values(16000, 48000));

TEST(TimeStretch, ToneRemovesAndInsertsWholePeriods) {
  for (const auto& [rate, freq] : {std::pair{16000, 200.0}, std::pair{48000, 220.0},
                                   std::pair{8000, 333.0}, std::pair{44100, 150.0}}) {
    const std::vector<int16_t> tone = testing::Tone(freq, rate, 0.04);
    TimeStretch stretch({.format = {rate, 1}});
    std::vector<int16_t> out(tone.size() + static_cast<size_t>(stretch.max_lag_frames()));
    const double period = rate / freq;
    for (bool accelerate : {true, false}) {
      const StretchResult r =
          accelerate ? stretch.Accelerate(tone, out) : stretch.PreemptiveExpand(tone, out);
      ASSERT_GT(r.frames_changed, 0) << rate;
      const double periods = r.frames_changed / period;
      EXPECT_NEAR(r.frames_changed, std::round(periods) * period, 1.0) << rate << " " << freq;
      EXPECT_GE(std::round(periods), 1.0);
    }
  }
}

TEST(TimeStretch, StereoAppliesTheSameEditToBothChannels) {
  const std::vector<int16_t> tone = testing::Tone(200.0, 16000, 0.04);
  std::vector<int16_t> stereo(tone.size() * 2);
  for (size_t i = 0; i < tone.size(); ++i) {
    stereo[2 * i] = tone[i];
    stereo[2 * i + 1] = static_cast<int16_t>(tone[i] / 2);
  }
  TimeStretch stretch({.format = {16000, 2}});
  std::vector<int16_t> out(stereo.size());
  const StretchResult r = stretch.Accelerate(stereo, out);
  ASSERT_EQ(r.frames_changed, 80);
  for (int i = 0; i < r.frames_written; ++i) {
    EXPECT_NEAR(out[2 * i + 1], out[2 * i] / 2, 1);
  }
}

TEST(TimeStretch, LeavesLoudUncorrelatedNoiseAlone) {
  const std::vector<int16_t> noise = WhiteNoise(640, 3000.0, 7);  // about -21 dBFS
  TimeStretch stretch({.format = {16000, 1}});
  std::vector<int16_t> out(noise.size() + static_cast<size_t>(stretch.max_lag_frames()));
  for (bool accelerate : {true, false}) {
    const StretchResult r =
        accelerate ? stretch.Accelerate(noise, out) : stretch.PreemptiveExpand(noise, out);
    EXPECT_EQ(r.frames_changed, 0);
    EXPECT_EQ(r.frames_written, 640);
    EXPECT_FALSE(r.low_energy);
    EXPECT_TRUE(std::equal(noise.begin(), noise.end(), out.begin()));
  }
}

TEST(TimeStretch, StretchesQuietNoise) {
  const std::vector<int16_t> noise = WhiteNoise(640, 60.0, 7);  // about -55 dBFS
  TimeStretch stretch({.format = {16000, 1}});
  std::vector<int16_t> out(noise.size());
  const StretchResult r = stretch.Accelerate(noise, out);
  EXPECT_GT(r.frames_changed, 0);
  EXPECT_TRUE(r.low_energy);
}

TEST(TimeStretch, RespectsTheChangeLimit) {
  const std::vector<int16_t> tone = testing::Tone(100.0, 16000, 0.04);  // period 160
  TimeStretch stretch({.format = {16000, 1}});
  std::vector<int16_t> out(tone.size());
  EXPECT_EQ(stretch.Accelerate(tone, out, 100).frames_changed, 0);  // 160 > 100: not allowed
  EXPECT_EQ(stretch.Accelerate(tone, out, 160).frames_changed, 160);
}

TEST(TimeStretch, RejectsMisuse) {
  EXPECT_THROW(TimeStretch({.format = {96000, 1}}), std::invalid_argument);
  TimeStretch stretch({.format = {16000, 1}});
  std::vector<int16_t> in(640);
  std::vector<int16_t> small(100);
  EXPECT_THROW((void)stretch.Accelerate(in, small), std::invalid_argument);
  EXPECT_THROW((void)stretch.PreemptiveExpand(in, in), std::invalid_argument);
}

TEST(TimeStretchBudget, KeepsStretchingWithinTenPercentOfPlayedTime) {
  const int rate = 48000;
  const std::vector<int16_t> speech = testing::Speech(rate);
  TimeStretch stretch({.format = {rate, 1}});
  StretchBudget budget({.sample_rate_hz = rate});
  const size_t block = static_cast<size_t>(rate * 30 / 1000);
  std::vector<int16_t> out(block);
  double worst_click = 0.0;
  int operations = 0;
  for (size_t p = 1; p + block <= speech.size(); p += block) {
    const std::span<const int16_t> in(speech.data() + p, block);
    int written = static_cast<int>(block);
    if (budget.available_frames() >= stretch.config().min_lag_ms * rate / 1000) {
      const StretchResult r =
          stretch.Accelerate(in, out, static_cast<int>(budget.available_frames()));
      ASSERT_TRUE(budget.Allows(r.frames_changed));
      budget.OnStretched(r.frames_changed);
      written = r.frames_written;
      if (r.frames_changed > 0) {
        ++operations;
        std::vector<int16_t> played{speech[p - 1]};
        played.insert(played.end(), out.begin(), out.begin() + written);
        const double click = test::ClickRatio(played, 1, static_cast<size_t>(r.lag_frames) + 2, in);
        worst_click = std::max(worst_click, click);
      }
    }
    budget.OnPlayed(written);
    ASSERT_LE(budget.stretched_frames(), 0.10 * budget.played_frames() + 1e-9);
  }
  EXPECT_GT(operations, 5);
  EXPECT_GT(budget.stretched_frames(), 0.05 * budget.played_frames());
  // Over all of the speech, quiet blocks included (stretched on energy alone, where the
  // reference steps are small), the bound is looser.
  EXPECT_LE(worst_click, 3.0);
  std::printf(
      "budgeted accelerate: %d operations, %.1f %% of played time removed, worst click "
      "ratio %.2f\n",
      operations, 100.0 * budget.stretched_frames() / budget.played_frames(), worst_click);
}

TEST(TimeStretchBudget, StartsEmptyAndCapsTheBurst) {
  StretchBudget budget({.sample_rate_hz = 16000, .max_fraction = 0.1, .max_burst_ms = 60.0});
  EXPECT_FALSE(budget.Allows(1));
  budget.OnPlayed(1600);  // 100 ms -> 10 ms of credit
  EXPECT_EQ(budget.available_frames(), 160);
  budget.OnPlayed(160000);  // 10 s -> capped at 60 ms
  EXPECT_EQ(budget.available_frames(), 960);
  budget.OnStretched(900);
  EXPECT_EQ(budget.available_frames(), 60);
  EXPECT_FALSE(budget.Allows(61));
}

}  // namespace
}  // namespace parley::playout
