#include "parley/playout/comfort_noise.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace parley::playout {
namespace {

constexpr double kInt16FullScale = 32768.0;
// Regularizes the fit (-40 dB white-noise floor) so the filter stays well conditioned on
// band-limited input.
constexpr double kWhiteNoiseCorrection = 1.0001;
constexpr double kLagWindowHz = 100.0;

uint32_t Rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

uint64_t SplitMix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

ComfortNoise::ComfortNoise(const ComfortNoiseConfig& config) : config_(config) {
  const audio::AudioFormat& f = config.format;
  if (f.sample_rate_hz < 8000 || f.sample_rate_hz > 48000 || f.channels < 1 || f.channels > 8 ||
      config.lpc_order < 0 || config.lpc_order > kMaxLpcOrder || config.max_analysis_ms <= 0) {
    throw std::invalid_argument(
        "ComfortNoise: format must be 8000..48000 Hz, 1..8 channels; lpc_order 0..16");
  }
  uint64_t seed = config.seed;
  const uint64_t a = SplitMix64(seed);
  const uint64_t b = SplitMix64(seed);
  state_.rng = {static_cast<uint32_t>(a), static_cast<uint32_t>(a >> 32), static_cast<uint32_t>(b),
                static_cast<uint32_t>(b >> 32)};
  analysis_.resize(static_cast<size_t>(config.max_analysis_ms * f.sample_rate_hz / 1000.0));
  SetLevelDbfs(config.level_dbfs);
}

void ComfortNoise::SetLevelDbfs(double level_dbfs) {
  level_dbfs_ = std::min(0.0, level_dbfs);
  excitation_gain_ =
      static_cast<float>(kInt16FullScale * std::pow(10.0, level_dbfs_ / 20.0)) * shaping_gain_;
}

void ComfortNoise::ClearSpectrum() {
  order_ = 0;
  shaping_gain_ = 1.0f;
  state_.memory.fill(0.0f);
  SetLevelDbfs(level_dbfs_);
}

void ComfortNoise::SetSpectrumFrom(std::span<const int16_t> samples) {
  const int channels = config_.format.channels;
  const int p = config_.lpc_order;
  int n = static_cast<int>(samples.size()) / channels;
  const int skip = std::max(0, n - static_cast<int>(analysis_.size()));
  n -= skip;
  if (p == 0 || n < p + 1) {
    ClearSpectrum();
    return;
  }
  for (int i = 0; i < n; ++i) {
    float sum = 0.0f;
    for (int c = 0; c < channels; ++c) {
      sum += samples[static_cast<size_t>((skip + i) * channels + c)];
    }
    const double hann = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * (i + 0.5) / n);
    analysis_[static_cast<size_t>(i)] = static_cast<float>(sum / channels * hann);
  }
  std::array<double, kMaxLpcOrder + 1> r{};
  for (int k = 0; k <= p; ++k) {
    double acc = 0.0;
    for (int i = k; i < n; ++i) {
      acc += static_cast<double>(analysis_[static_cast<size_t>(i)]) *
             analysis_[static_cast<size_t>(i - k)];
    }
    r[static_cast<size_t>(k)] = acc;
  }
  if (r[0] <= 0.0) {
    ClearSpectrum();
    return;
  }
  // Lag window: widens every spectral peak to about kLagWindowHz, so a tonal source
  // cannot give poles on the unit circle (ringing noise whose short-term level wanders).
  // The fit then reproduces the windowed r, so the gain formula below stays exact.
  for (int k = 1; k <= p; ++k) {
    const double x = 2.0 * std::numbers::pi * kLagWindowHz * k / config_.format.sample_rate_hz;
    r[static_cast<size_t>(k)] *= std::exp(-0.5 * x * x);
  }
  const double r0 = r[0];
  r[0] *= kWhiteNoiseCorrection;
  // Levinson-Durbin: a[1..p] with A(z) = 1 + sum a[k] z^-k.
  std::array<double, kMaxLpcOrder + 1> a{};
  std::array<double, kMaxLpcOrder + 1> prev{};
  double error = r[0];
  for (int i = 1; i <= p; ++i) {
    double acc = r[static_cast<size_t>(i)];
    for (int j = 1; j < i; ++j) acc += a[static_cast<size_t>(j)] * r[static_cast<size_t>(i - j)];
    const double k = -acc / error;
    prev = a;
    for (int j = 1; j < i; ++j) {
      a[static_cast<size_t>(j)] =
          prev[static_cast<size_t>(j)] + k * prev[static_cast<size_t>(i - j)];
    }
    a[static_cast<size_t>(i)] = k;
    error *= 1.0 - k * k;
    if (error <= 0.0) {
      ClearSpectrum();
      return;
    }
  }
  for (int k = 0; k < p; ++k)
    lpc_[static_cast<size_t>(k)] = static_cast<float>(a[static_cast<size_t>(k + 1)]);
  order_ = p;
  // The all-pole model reproduces r[0..p], so unit-variance excitation scaled by
  // sqrt(E / r0) comes out with unit variance.
  shaping_gain_ = static_cast<float>(std::sqrt(error / r0));
  state_.memory.fill(0.0f);
  SetLevelDbfs(level_dbfs_);
}

float ComfortNoise::NextGaussian() {
  if (state_.has_spare) {
    state_.has_spare = false;
    return state_.spare;
  }
  // xoshiro128+ for two uniforms in (0, 1].
  const auto next = [this] {
    auto& s = state_.rng;
    const uint32_t result = s[0] + s[3];
    const uint32_t t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = Rotl(s[3], 11);
    return (static_cast<double>(result >> 8) + 1.0) / 16777216.0;
  };
  const double u1 = next();
  const double u2 = next();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  state_.spare = static_cast<float>(radius * std::sin(angle));
  state_.has_spare = true;
  return static_cast<float>(radius * std::cos(angle));
}

void ComfortNoise::GenerateMono(std::span<float> out) {
  for (float& sample : out) {
    float y = excitation_gain_ * NextGaussian();
    if (order_ > 0) {
      auto& m = state_.memory;
      for (int k = 0; k < order_; ++k)
        y -= lpc_[static_cast<size_t>(k)] * m[static_cast<size_t>(k)];
      for (int k = order_ - 1; k > 0; --k)
        m[static_cast<size_t>(k)] = m[static_cast<size_t>(k - 1)];
      m[0] = y;
    }
    sample = y;
  }
}

void ComfortNoise::Generate(std::span<int16_t> out) {
  const int channels = config_.format.channels;
  if (out.size() % static_cast<size_t>(channels) != 0) {
    throw std::invalid_argument("ComfortNoise::Generate: output not a whole number of frames");
  }
  std::array<float, 1> one{};
  for (size_t i = 0; i < out.size(); i += static_cast<size_t>(channels)) {
    GenerateMono(one);
    const auto v = static_cast<int16_t>(std::clamp(std::lround(one[0]), -32768L, 32767L));
    for (int c = 0; c < channels; ++c) out[i + static_cast<size_t>(c)] = v;
  }
}

}  // namespace parley::playout
