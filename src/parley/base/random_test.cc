#include "parley/base/random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

namespace parley {
namespace {

constexpr int kDraws = 1'000'000;

// The first outputs are pinned: a change here changes every seeded lab run and test.
// Values from an independent implementation of splitmix64 + xoshiro256**.
TEST(RandomTest, FirstOutputsArePinned) {
  Random zero(0);
  EXPECT_EQ(zero.NextU64(), 0x99ec5f36cb75f2b4ull);
  EXPECT_EQ(zero.NextU64(), 0xbf6e1f784956452aull);
  EXPECT_EQ(zero.NextU64(), 0x1a5f849d4933e6e0ull);
  EXPECT_EQ(zero.NextU64(), 0x6aa594f1262d2d2cull);

  Random one(1);
  EXPECT_EQ(one.NextU64(), 0xb3f2af6d0fc710c5ull);
  EXPECT_EQ(one.NextU64(), 0x853b559647364ceaull);

  Random answer(42);
  EXPECT_EQ(answer.NextU64(), 0x15780b2e0c2ec716ull);
  EXPECT_EQ(answer.NextU64(), 0x6104d9866d113a7eull);
}

TEST(RandomTest, Uniform01IsTheTop53BitsOfADraw) {
  Random random(1);
  EXPECT_EQ(random.Uniform01(), 0.7029218331588505);  // exact: a multiple of 2^-53
  EXPECT_EQ(random.Uniform01(), 0.5204366199388569);
}

TEST(RandomTest, SameSeedSameStreamOtherSeedOtherStream) {
  Random a(7), b(7), c(8);
  int differing = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t x = a.NextU64();
    EXPECT_EQ(x, b.NextU64());
    if (x != c.NextU64()) ++differing;
  }
  EXPECT_EQ(differing, 1000);
}

TEST(RandomTest, CopyContinuesTheSameSequence) {
  Random a(3);
  a.NextU64();
  Random b = a;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.NextU64(), b.NextU64());
}

TEST(RandomTest, Uniform01StaysInRangeWithMeanOneHalf) {
  Random random(11);
  double sum = 0.0;
  for (int i = 0; i < kDraws; ++i) {
    const double u = random.Uniform01();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  // Standard error of the mean: sqrt(1/12 / 1e6) = 2.9e-4; tolerance ~7 sigma.
  EXPECT_NEAR(sum / kDraws, 0.5, 0.002);
}

TEST(RandomTest, UniformCoversTheInterval) {
  Random random(12);
  double sum = 0.0, low = 1e9, high = -1e9;
  for (int i = 0; i < kDraws; ++i) {
    const double x = random.Uniform(-3.0, 5.0);
    low = std::min(low, x);
    high = std::max(high, x);
    sum += x;
  }
  EXPECT_NEAR(sum / kDraws, 1.0, 0.01);
  EXPECT_GE(low, -3.0);
  EXPECT_LT(high, 5.0);
  EXPECT_LT(low, -2.99);
  EXPECT_GT(high, 4.99);
}

TEST(RandomTest, BernoulliRateMatchesProbability) {
  Random random(13);
  int hits = 0;
  for (int i = 0; i < kDraws; ++i) hits += random.Bernoulli(0.03) ? 1 : 0;
  // sqrt(0.03 x 0.97 / 1e6) = 1.7e-4; tolerance 0.1 % absolute (~6 sigma).
  EXPECT_NEAR(hits / static_cast<double>(kDraws), 0.03, 0.001);

  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(random.Bernoulli(0.0));
    EXPECT_TRUE(random.Bernoulli(1.0));
  }
}

TEST(RandomTest, ExponentialMeanWithinOnePercent) {
  Random random(14);
  double sum = 0.0;
  for (int i = 0; i < kDraws; ++i) {
    const double x = random.Exponential(8.0);
    ASSERT_GE(x, 0.0);
    ASSERT_TRUE(std::isfinite(x));
    sum += x;
  }
  EXPECT_NEAR(sum / kDraws, 8.0, 0.08);
}

TEST(RandomTest, NormalMeanAndDeviationWithinOnePercent) {
  Random random(15);
  double sum = 0.0, sum_squares = 0.0;
  for (int i = 0; i < kDraws; ++i) {
    const double x = random.Normal(10.0, 2.0);
    sum += x;
    sum_squares += x * x;
  }
  const double mean = sum / kDraws;
  const double stddev = std::sqrt(sum_squares / kDraws - mean * mean);
  EXPECT_NEAR(mean, 10.0, 0.02);
  EXPECT_NEAR(stddev, 2.0, 0.02);
}

TEST(RandomTest, ParetoMeanAndMinimum) {
  Random random(16);
  const double shape = 2.5, mean = 6.0;
  const double minimum = mean * (shape - 1.0) / shape;
  double sum = 0.0;
  for (int i = 0; i < kDraws; ++i) {
    const double x = random.Pareto(shape, mean);
    ASSERT_GE(x, minimum);
    sum += x;
  }
  // Standard deviation 5.4 (shape 2.5), so the standard error is 0.005; the 3 % tolerance
  // leaves room for the heavy tail's rare huge draws.
  EXPECT_NEAR(sum / kDraws, mean, 0.03 * mean);
  EXPECT_THROW(random.Pareto(1.0, 5.0), std::invalid_argument);
}

TEST(RandomTest, GammaMeanAndVarianceForShapesBelowAndAboveOne) {
  // Shape below 1 (the boosted path), 1 (exponential), 2 (the lab's default), large.
  for (const double shape : {0.5, 1.0, 2.0, 9.0}) {
    Random random(18);
    const double mean = 30.0;
    double sum = 0.0, sum_squares = 0.0;
    for (int i = 0; i < kDraws; ++i) {
      const double x = random.Gamma(shape, mean);
      ASSERT_GE(x, 0.0) << "shape " << shape;
      ASSERT_TRUE(std::isfinite(x)) << "shape " << shape;
      sum += x;
      sum_squares += x * x;
    }
    const double measured_mean = sum / kDraws;
    const double variance = sum_squares / kDraws - measured_mean * measured_mean;
    // Standard error of the mean: 30 / sqrt(k) / 1000 <= 0.043; of the variance about
    // 1 % at k 0.5 (its fourth moment is large). Tolerances 1 % and 3 %.
    EXPECT_NEAR(measured_mean, mean, 0.01 * mean) << "shape " << shape;
    EXPECT_NEAR(variance, mean * mean / shape, 0.03 * mean * mean / shape) << "shape " << shape;
  }
}

TEST(RandomTest, GammaIsTheSameForTheSameSeedAndRefusesABadShape) {
  Random a(19), b(19);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.Gamma(2.0, 30.0), b.Gamma(2.0, 30.0));
  EXPECT_THROW(a.Gamma(0.0, 30.0), std::invalid_argument);
  EXPECT_THROW(a.Gamma(-1.0, 30.0), std::invalid_argument);
  EXPECT_THROW(a.Gamma(std::nan(""), 30.0), std::invalid_argument);
  EXPECT_THROW(a.Gamma(std::numeric_limits<double>::infinity(), 30.0), std::invalid_argument);
}

TEST(RandomTest, UniformIntIsUnbiasedAndInclusive) {
  Random random(17);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < kDraws; ++i) {
    const int64_t x = random.UniformInt(-3, 3);
    ASSERT_GE(x, -3);
    ASSERT_LE(x, 3);
    ++counts[static_cast<size_t>(x + 3)];
  }
  for (int count : counts) {
    // Expected 142857 each; sqrt(n p (1-p)) = 350; tolerance 1 %.
    EXPECT_NEAR(count, kDraws / 7.0, kDraws / 7.0 * 0.01);
  }
  EXPECT_EQ(random.UniformInt(5, 5), 5);
  EXPECT_THROW(random.UniformInt(2, 1), std::invalid_argument);
  // The full range works too (no overflow in the span computation).
  (void)random.UniformInt(INT64_MIN, INT64_MAX);
}

}  // namespace
}  // namespace parley
