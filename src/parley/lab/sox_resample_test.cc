#include "parley/lab/sox_resample.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

namespace parley::lab {
namespace {

std::vector<int16_t> Sine(int rate_hz, double frequency_hz, double amplitude, int samples) {
  std::vector<int16_t> out(static_cast<size_t>(samples));
  for (int i = 0; i < samples; ++i) {
    out[static_cast<size_t>(i)] = static_cast<int16_t>(
        std::lround(amplitude * std::sin(2 * std::numbers::pi * frequency_hz * i / rate_hz)));
  }
  return out;
}

// The RMS of x[from, to).
double Rms(const std::vector<int16_t>& x, size_t from, size_t to) {
  double sum = 0;
  for (size_t i = from; i < to; ++i) sum += static_cast<double>(x[i]) * x[i];
  return std::sqrt(sum / static_cast<double>(to - from));
}

TEST(SoxResampleTest, DownsamplesASineKeepingLevelAndPhase) {
  for (const int to_hz : {16000, 8000}) {
    const std::vector<int16_t> in = Sine(48000, 1000.0, 10000.0, 48000);
    auto out = ResampleLikeSox(in, 48000, to_hz);
    ASSERT_TRUE(out.ok()) << out.error().message;
    ASSERT_EQ(out->size(), static_cast<size_t>(to_hz));
    const std::vector<int16_t> expected = Sine(to_hz, 1000.0, 10000.0, to_hz);
    // Away from the edges (the filter sees silence beyond them): the same sine, in phase.
    const size_t from = static_cast<size_t>(to_hz / 10);
    const size_t to = out->size() - from;
    EXPECT_NEAR(Rms(*out, from, to), 10000.0 / std::sqrt(2.0), 10.0) << to_hz;
    int worst = 0;
    for (size_t i = from; i < to; ++i) worst = std::max(worst, std::abs((*out)[i] - expected[i]));
    EXPECT_LE(worst, 3) << to_hz;
  }
}

TEST(SoxResampleTest, RemovesWhatIsAboveTheNewNyquist) {
  // 7 kHz at 48 kHz -> 8 kHz (Nyquist 4 kHz): nothing may alias back into the band.
  const std::vector<int16_t> in = Sine(48000, 7000.0, 10000.0, 48000);
  auto out = ResampleLikeSox(in, 48000, 8000);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_LT(Rms(*out, 800, 7200), 1.0);
}

TEST(SoxResampleTest, LengthsFollowTheRatioAndTheSameRateCopies) {
  const std::vector<int16_t> in = Sine(22050, 440.0, 8000.0, 22050 * 3 + 7);
  auto up = ResampleLikeSox(in, 22050, 48000);
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_EQ(up->size(), static_cast<size_t>(std::llround((22050 * 3 + 7) * 48000.0 / 22050)));
  auto same = ResampleLikeSox(in, 22050, 22050);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, in);
  auto empty = ResampleLikeSox({}, 48000, 16000);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(SoxResampleTest, IsTheSameEveryRun) {
  const std::vector<int16_t> in = Sine(48000, 523.0, 12000.0, 24000);
  auto a = ResampleLikeSox(in, 48000, 16000);
  auto b = ResampleLikeSox(in, 48000, 16000);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(SoxResampleTest, RefusesImpossibleRates) {
  const std::vector<int16_t> in(100, 0);
  for (const auto& [from, to] :
       {std::pair{0, 16000}, std::pair{48000, -1}, std::pair{48000, 2'000'000}}) {
    auto out = ResampleLikeSox(in, from, to);
    ASSERT_FALSE(out.ok()) << from << " -> " << to;
    EXPECT_NE(out.error().message.find("Hz"), std::string::npos);
  }
}

}  // namespace
}  // namespace parley::lab
