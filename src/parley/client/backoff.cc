#include "parley/client/backoff.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace parley::client {

Backoff::Backoff(const Config& config) : config_(config), random_(config.seed) {
  if (config.initial.count() <= 0) throw std::invalid_argument("BackoffConfig.initial must be > 0");
  if (config.max < config.initial)
    throw std::invalid_argument("BackoffConfig.max must be >= initial");
  if (!(config.multiplier >= 1.0))
    throw std::invalid_argument("BackoffConfig.multiplier must be >= 1");
  if (!(config.jitter >= 0.0 && config.jitter <= 1.0)) {
    throw std::invalid_argument("BackoffConfig.jitter must be in 0..1");
  }
}

std::chrono::milliseconds Backoff::NextDelay() {
  const double max_ms = static_cast<double>(config_.max.count());
  // Stop growing once the cap is reached, so the power never overflows.
  const double ceiling_ms =
      std::min(max_ms, static_cast<double>(config_.initial.count()) *
                           std::pow(config_.multiplier, std::min(attempts_, 64)));
  ++attempts_;
  const double low_ms = ceiling_ms * (1.0 - config_.jitter);
  const double delay_ms = random_.Uniform(low_ms, ceiling_ms);
  return std::chrono::milliseconds(std::max<int64_t>(1, std::llround(delay_ms)));
}

}  // namespace parley::client
