// A seeded pseudo-random generator whose stream is the same on every platform, for the
// lab's impairment model and for tests: one seed, one sequence of fates, anywhere.
//
// The generator is xoshiro256** (Blackman and Vigna), its 256-bit state filled from the
// 64-bit seed by splitmix64, as its authors recommend. The integer stream (NextU64,
// UniformInt, Bernoulli, Uniform01) is bit-identical everywhere: it uses only 64-bit
// integer arithmetic and exact conversions. The std:: distributions are avoided on purpose,
// since their algorithms are implementation-defined and differ between standard libraries.
// Exponential, Normal, Pareto and Gamma go through std::log/sqrt/cos/pow, which may differ
// in the last bit between C libraries; they consume the same draws everywhere, so the
// integer stream never drifts. (Gamma's rejection test compares such results: a last-bit
// difference could change its number of draws only for a value within an ulp of the
// acceptance bound, a chance of the order of 2^-50 per value.)
//
// Not cryptographic. Not thread-safe: one generator per user. Copyable: a copy continues
// the same sequence independently (useful to replay).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <stdexcept>

namespace parley {

class Random {
 public:
  explicit Random(uint64_t seed) {
    uint64_t x = seed;
    for (uint64_t& word : state_) word = SplitMix64(x);
  }

  // The next 64 raw bits.
  uint64_t NextU64() {
    const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = RotateLeft(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1), a multiple of 2^-53 (the top 53 bits of one draw).
  double Uniform01() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }

  // Uniform in [a, b). Precondition: a <= b.
  double Uniform(double a, double b) { return a + (b - a) * Uniform01(); }

  // True with probability p (p <= 0: never; p >= 1: always). One draw.
  bool Bernoulli(double p) { return Uniform01() < p; }

  // Exponentially distributed with the given mean (>= 0). One draw.
  double Exponential(double mean) {
    // 1 - U is in (0, 1], so the logarithm is finite.
    return -mean * std::log(1.0 - Uniform01());
  }

  // Normally distributed (Box-Muller). Draws come in pairs: every other call uses the
  // second value of the previous pair and consumes nothing.
  double Normal(double mean, double stddev) {
    if (has_spare_normal_) {
      has_spare_normal_ = false;
      return mean + stddev * spare_normal_;
    }
    const double u1 = 1.0 - Uniform01();  // (0, 1]
    const double u2 = Uniform01();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * std::numbers::pi * u2;
    spare_normal_ = radius * std::sin(angle);
    has_spare_normal_ = true;
    return mean + stddev * radius * std::cos(angle);
  }

  // Pareto (type I) with tail index `shape` and the given mean: values >= mean x
  // (shape - 1) / shape, P(X > x) falling as x^-shape. Throws std::invalid_argument
  // unless shape > 1 (the mean is infinite otherwise). One draw.
  double Pareto(double shape, double mean) {
    if (!(shape > 1.0)) throw std::invalid_argument("Random::Pareto: shape must be > 1");
    const double scale = mean * (shape - 1.0) / shape;
    return scale / std::pow(1.0 - Uniform01(), 1.0 / shape);
  }

  // Gamma with shape k (> 0) and the given mean (scale mean / k): variance mean^2 / k; k = 1
  // is the exponential, large k narrows around the mean. Marsaglia and Tsang's method
  // ("A simple method for generating gamma variables", ACM TOMS 26(3), 2000) on this
  // generator's Normal and Uniform01 draws, with their boost for k < 1 (one more uniform).
  // Consumes a varying number of draws (a rejection loop: 1.05 tries on average at k 2).
  // Throws std::invalid_argument unless k is finite and > 0.
  double Gamma(double shape, double mean) {
    if (!(shape > 0.0) || !std::isfinite(shape)) {
      throw std::invalid_argument("Random::Gamma: shape must be finite and > 0");
    }
    const double scale = mean / shape;
    if (shape < 1.0) {
      // Gamma(k) = Gamma(k + 1) x U^(1/k).
      const double boosted = StandardGamma(shape + 1.0);
      return scale * boosted * std::pow(1.0 - Uniform01(), 1.0 / shape);
    }
    return scale * StandardGamma(shape);
  }

  // Uniform integer in [lo, hi], both included, without modulo bias. Throws
  // std::invalid_argument if lo > hi.
  int64_t UniformInt(int64_t lo, int64_t hi) {
    if (lo > hi) throw std::invalid_argument("Random::UniformInt: lo > hi");
    const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
    if (range == 0) return static_cast<int64_t>(NextU64());  // the whole int64 range
    // Draws below 2^64 mod range would favour small results; reject them.
    const uint64_t threshold = (0 - range) % range;
    uint64_t x = NextU64();
    while (x < threshold) x = NextU64();
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + x % range);
  }

 private:
  static uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  // Gamma with shape k >= 1 and scale 1 (Marsaglia-Tsang).
  double StandardGamma(double shape) {
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      const double x = Normal(0.0, 1.0);
      double v = 1.0 + c * x;
      if (v <= 0.0) continue;
      v = v * v * v;
      const double u = 1.0 - Uniform01();  // (0, 1]
      const double x2 = x * x;
      if (u < 1.0 - 0.0331 * x2 * x2) return d * v;  // the quick squeeze
      if (std::log(u) < 0.5 * x2 + d * (1.0 - v + std::log(v))) return d * v;
    }
  }

  // Advances `x` and returns a well-mixed word: turns one seed into a full state, and
  // nearby seeds (1, 2, 3) into unrelated ones.
  static uint64_t SplitMix64(uint64_t& x) {
    x += 0x9E3779B97F4A7C15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  uint64_t state_[4];
  double spare_normal_ = 0.0;
  bool has_spare_normal_ = false;
};

}  // namespace parley
