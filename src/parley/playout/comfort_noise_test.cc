#include "parley/playout/comfort_noise.h"

#include <gtest/gtest.h>

#include <vector>

#include "parley/playout/playout_dsp_test_util.h"
#include "parley/testing/signals.h"
#include "parley/testing/speech.h"

namespace parley::playout {
namespace {

// Normalized lag-1 autocorrelation: near 0 for white noise, near 1 for low-pass sound.
double Lag1Correlation(std::span<const int16_t> x) {
  double r0 = 0.0;
  double r1 = 0.0;
  for (size_t i = 1; i < x.size(); ++i) {
    r0 += static_cast<double>(x[i]) * x[i];
    r1 += static_cast<double>(x[i]) * x[i - 1];
  }
  return r1 / r0;
}

TEST(ComfortNoise, WhiteLevelWithinOneDb) {
  for (int rate : {8000, 16000, 48000}) {
    for (double level : {-20.0, -45.0, -70.0}) {
      ComfortNoise noise({.format = {rate, 1}, .seed = 3, .level_dbfs = level});
      std::vector<int16_t> out(static_cast<size_t>(rate));  // 1 s
      noise.Generate(out);
      EXPECT_NEAR(testing::RmsDbfs(out), level, 1.0) << rate << " Hz " << level << " dBFS";
    }
  }
}

TEST(ComfortNoise, ShapedLevelWithinOneDbAndFollowsTheSpectrum) {
  for (int rate : {16000, 48000}) {
    const std::vector<int16_t> speech = testing::Speech(rate);
    ComfortNoise noise({.format = {rate, 1}, .seed = 5, .level_dbfs = -50.0});
    // A voiced, low-pass stretch of speech.
    const std::vector<size_t> voiced = test::VoicedBlocks(speech, rate, rate / 25, rate / 25, 0.9);
    ASSERT_FALSE(voiced.empty());
    const std::span<const int16_t> source(speech.data() + voiced[voiced.size() / 2],
                                          static_cast<size_t>(rate / 25));
    noise.SetSpectrumFrom(source);
    ASSERT_TRUE(noise.shaped());
    std::vector<int16_t> out(static_cast<size_t>(rate));
    noise.Generate(out);
    EXPECT_NEAR(testing::RmsDbfs(out), -50.0, 1.0) << rate;
    EXPECT_NEAR(Lag1Correlation(out), Lag1Correlation(source), 0.1) << rate;
    std::printf(
        "comfort noise %d Hz shaped: %.2f dBFS for -50, lag-1 correlation %.3f (source "
        "%.3f)\n",
        rate, testing::RmsDbfs(out), Lag1Correlation(out), Lag1Correlation(source));
    noise.ClearSpectrum();
    noise.Generate(out);
    EXPECT_NEAR(Lag1Correlation(out), 0.0, 0.05);
  }
}

TEST(ComfortNoise, SilentSourceFallsBackToWhite) {
  ComfortNoise noise({.format = {16000, 1}, .level_dbfs = -60.0});
  std::vector<int16_t> silence(320);
  noise.SetSpectrumFrom(silence);
  EXPECT_FALSE(noise.shaped());
  std::vector<int16_t> out(16000);
  noise.Generate(out);
  EXPECT_NEAR(testing::RmsDbfs(out), -60.0, 1.0);
}

TEST(ComfortNoise, DeterministicPerSeedAndRewindable) {
  const auto run = [](uint64_t seed) {
    ComfortNoise noise({.format = {48000, 2}, .seed = seed, .level_dbfs = -40.0});
    std::vector<int16_t> out(960);
    noise.Generate(out);
    return out;
  };
  EXPECT_EQ(run(1), run(1));
  EXPECT_NE(run(1), run(2));
  const std::vector<int16_t> stereo = run(9);
  for (size_t i = 0; i < stereo.size(); i += 2) EXPECT_EQ(stereo[i], stereo[i + 1]);

  ComfortNoise noise({.format = {16000, 1}, .level_dbfs = -40.0});
  const ComfortNoise::State state = noise.Checkpoint();
  std::vector<int16_t> a(160);
  std::vector<int16_t> b(160);
  noise.Generate(a);
  noise.Restore(state);
  noise.Generate(b);
  EXPECT_EQ(a, b);
}

TEST(ComfortNoise, RejectsMisuse) {
  EXPECT_THROW(ComfortNoise({.format = {4000, 1}}), std::invalid_argument);
  EXPECT_THROW(ComfortNoise({.lpc_order = 17}), std::invalid_argument);
  ComfortNoise noise({.format = {16000, 2}});
  std::vector<int16_t> odd(3);
  EXPECT_THROW(noise.Generate(odd), std::invalid_argument);
}

}  // namespace
}  // namespace parley::playout
