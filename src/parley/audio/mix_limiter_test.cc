#include "parley/audio/mix_limiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <vector>

namespace parley::audio {
namespace {

constexpr size_t kBlock = 480;  // 10 ms at 48 kHz

// One 10 ms block of a 500 Hz sine of `amplitude` (full scale 32768) starting at `block`.
std::vector<int32_t> Sine(double amplitude, int block) {
  std::vector<int32_t> out(kBlock);
  for (size_t i = 0; i < kBlock; ++i) {
    const double t =
        static_cast<double>(block * static_cast<int>(kBlock) + static_cast<int>(i)) / 48000.0;
    out[i] = static_cast<int32_t>(
        std::lround(amplitude * 32768.0 * std::sin(2 * std::numbers::pi * 500.0 * t)));
  }
  return out;
}

int Peak(const std::vector<int16_t>& block) {
  int peak = 0;
  for (int16_t x : block) peak = std::max(peak, std::abs(static_cast<int>(x)));
  return peak;
}

TEST(MixLimiterTest, AQuietMixIsThePlainSum) {
  MixLimiter limiter;
  std::vector<int16_t> out(kBlock);
  for (int b = 0; b < 10; ++b) {
    const auto sum = Sine(0.6, b);  // 19,661: under the ceiling
    EXPECT_FALSE(limiter.Apply(sum, out));
    for (size_t i = 0; i < kBlock; ++i) ASSERT_EQ(out[i], sum[i]);
  }
  EXPECT_EQ(limiter.gain(), 1.0);
}

TEST(MixLimiterTest, ALoudMixIsTurnedDownNotClipped) {
  MixLimiter limiter;
  std::vector<int16_t> out(kBlock);
  // Three voices in phase at 0.9: the sum peaks at 2.7 full scale.
  for (int b = 0; b < 50; ++b) {
    EXPECT_TRUE(limiter.Apply(Sine(2.7, b), out));
    EXPECT_LE(Peak(out), 27000) << "block " << b;
    // Turned down, not squared off: the block's peaks reach the ceiling within 1 %, and
    // never as a run of samples stuck at it (a clipped sine sits there for dozens).
    EXPECT_GT(Peak(out), 26700) << "block " << b;
    int run = 0;
    int longest = 0;
    for (int16_t x : out) {
      run = std::abs(static_cast<int>(x)) >= 26990 ? run + 1 : 0;
      longest = std::max(longest, run);
    }
    EXPECT_LE(longest, 2) << "block " << b;
  }
  EXPECT_NEAR(limiter.gain(), 27000.0 / (2.7 * 32768.0), 0.001);
}

TEST(MixLimiterTest, TheGainRecoversWithItsTimeConstant) {
  MixLimiter limiter;  // 200 ms release, 10 ms blocks
  std::vector<int16_t> out(kBlock);
  (void)limiter.Apply(Sine(1.6, 0), out);
  const double low = limiter.gain();
  ASSERT_LT(low, 0.6);
  // 200 ms of quiet audio: the distance to 1 shrinks by e.
  for (int b = 1; b <= 20; ++b) (void)limiter.Apply(Sine(0.1, b), out);
  EXPECT_NEAR(1.0 - limiter.gain(), (1.0 - low) / std::numbers::e, 0.01);
  // The ramp inside a block is smooth: no step between neighbouring samples beyond
  // what the sine itself does.
  (void)limiter.Apply(Sine(0.1, 21), out);
  for (size_t i = 1; i < kBlock; ++i) ASSERT_LE(std::abs(out[i] - out[i - 1]), 350);
  // After long enough it is a plain sum again.
  for (int b = 22; b < 400; ++b) (void)limiter.Apply(Sine(0.1, b), out);
  EXPECT_EQ(limiter.gain(), 1.0);
  const auto sum = Sine(0.1, 400);
  EXPECT_FALSE(limiter.Apply(sum, out));
  EXPECT_EQ(out[100], sum[100]);
}

TEST(MixLimiterTest, RefusesBadConfigAndMismatchedBlocks) {
  EXPECT_THROW(MixLimiter(MixLimiterConfig{.ceiling = 0}), std::invalid_argument);
  EXPECT_THROW(MixLimiter(MixLimiterConfig{.ceiling = 40000}), std::invalid_argument);
  EXPECT_THROW(MixLimiter(MixLimiterConfig{.release = std::chrono::milliseconds(0)}),
               std::invalid_argument);
  MixLimiter limiter;
  std::vector<int32_t> sum(kBlock);
  std::vector<int16_t> out(kBlock - 1);
  EXPECT_THROW((void)limiter.Apply(sum, out), std::invalid_argument);
}

}  // namespace
}  // namespace parley::audio
