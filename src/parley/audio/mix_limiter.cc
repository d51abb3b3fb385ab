#include "parley/audio/mix_limiter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace parley::audio {
namespace {

const MixLimiterConfig& Validated(const MixLimiterConfig& config) {
  if (config.ceiling < 1 || config.ceiling > 32767) {
    throw std::invalid_argument(
        fmt::format("MixLimiter: ceiling {} outside 1..32767", config.ceiling));
  }
  if (config.release.count() <= 0 || config.block.count() <= 0) {
    throw std::invalid_argument(fmt::format("MixLimiter: release {} ms and block {} ms must be > 0",
                                            config.release.count(), config.block.count()));
  }
  return config;
}

}  // namespace

MixLimiter::MixLimiter(const Config& config)
    : config_(Validated(config)),
      release_step_(1.0 - std::exp(-std::chrono::duration<double>(config.block).count() /
                                   std::chrono::duration<double>(config.release).count())) {}

bool MixLimiter::Apply(std::span<const int32_t> sum, std::span<int16_t> out) {
  if (out.size() != sum.size()) {
    throw std::invalid_argument(
        fmt::format("MixLimiter: {} samples out for {} in", out.size(), sum.size()));
  }
  int64_t peak = 0;
  for (int32_t x : sum) peak = std::max<int64_t>(peak, x < 0 ? -int64_t{x} : int64_t{x});
  const double ceiling = config_.ceiling;
  const double needed =
      static_cast<double>(peak) > ceiling ? ceiling / static_cast<double>(peak) : 1.0;
  const double start = gain_;
  const double end = std::min(needed, gain_ + (1.0 - gain_) * release_step_);
  if (start == 1.0 && end == 1.0) {
    // Nothing to limit: the plain sum, which fits.
    for (size_t i = 0; i < sum.size(); ++i) out[i] = static_cast<int16_t>(sum[i]);
    return false;
  }
  const bool attack = end < start;
  const double n = static_cast<double>(sum.size());
  for (size_t i = 0; i < sum.size(); ++i) {
    const double gain = attack ? end : start + (end - start) * static_cast<double>(i + 1) / n;
    const double value = std::clamp(static_cast<double>(sum[i]) * gain, -ceiling, ceiling);
    out[i] = static_cast<int16_t>(std::lround(value));
  }
  // Back at 1 within rounding: stop ramping, so a quiet mix is a plain sum again.
  gain_ = end > 1.0 - 1e-4 ? 1.0 : end;
  return end < 1.0;
}

}  // namespace parley::audio
