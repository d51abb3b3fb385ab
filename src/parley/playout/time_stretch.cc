#include "parley/playout/time_stretch.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace parley::playout {
namespace {

constexpr double kInt16FullScale = 32768.0;
constexpr int kMaxChannels = 8;

void ValidateStretchFormat(const audio::AudioFormat& format) {
  if (format.sample_rate_hz < 8000 || format.sample_rate_hz > 48000 || format.channels < 1 ||
      format.channels > kMaxChannels) {
    throw std::invalid_argument("TimeStretch: format must be 8000..48000 Hz, 1..8 channels");
  }
}

int16_t Saturate(double v) {
  return static_cast<int16_t>(std::clamp(std::lround(v), -32768L, 32767L));
}

}  // namespace

TimeStretch::TimeStretch(const TimeStretchConfig& config)
    : config_(config),
      pitch_((ValidateStretchFormat(config.format), config.format.sample_rate_hz),
             static_cast<int>(config.max_input_ms * config.format.sample_rate_hz / 1000.0),
             config.min_lag_ms, config.max_lag_ms),
      max_input_frames_(
          static_cast<int>(config.max_input_ms * config.format.sample_rate_hz / 1000.0)),
      low_energy_power_(std::pow(10.0, config.low_energy_dbfs / 10.0) * kInt16FullScale *
                        kInt16FullScale) {
  if (config.correlation_threshold > 1.0 || config.max_input_ms <= 0) {
    throw std::invalid_argument("TimeStretch: correlation_threshold > 1 or max_input_ms <= 0");
  }
  mono_.resize(static_cast<size_t>(max_input_frames_));
  window_.resize(static_cast<size_t>(pitch_.max_lag_frames()));
}

StretchResult TimeStretch::Accelerate(std::span<const int16_t> in, std::span<int16_t> out,
                                      int max_removed_frames) {
  return Run(Mode::kAccelerate, in, out, max_removed_frames);
}

StretchResult TimeStretch::PreemptiveExpand(std::span<const int16_t> in, std::span<int16_t> out,
                                            int max_inserted_frames) {
  return Run(Mode::kPreemptiveExpand, in, out, max_inserted_frames);
}

StretchResult TimeStretch::Run(Mode mode, std::span<const int16_t> in, std::span<int16_t> out,
                               int max_change_frames) {
  const int channels = config_.format.channels;
  if (in.size() % static_cast<size_t>(channels) != 0) {
    throw std::invalid_argument("TimeStretch: input not a whole number of frames");
  }
  const int n = static_cast<int>(in.size()) / channels;
  if (n > max_input_frames_) throw std::invalid_argument("TimeStretch: input too long");
  const size_t room = mode == Mode::kAccelerate
                          ? in.size()
                          : in.size() + static_cast<size_t>(max_lag_frames() * channels);
  if (out.size() < room) throw std::invalid_argument("TimeStretch: output too small");

  StretchResult result;
  result.frames_written = n;
  const auto copy_unchanged = [&] { std::copy(in.begin(), in.end(), out.begin()); };

  for (int i = 0; i < n; ++i) {
    float sum = 0.0f;
    for (int c = 0; c < channels; ++c) sum += in[static_cast<size_t>(i * channels + c)];
    mono_[static_cast<size_t>(i)] = sum / static_cast<float>(channels);
  }
  const std::span<const float> mono(mono_.data(), static_cast<size_t>(n));
  // Both edits touch x[0..2L), so L <= N / 2.
  const PitchEstimator::Estimate pitch =
      pitch_.Find(mono, PitchEstimator::Anchor::kStart, std::min(n / 2, max_change_frames));
  const int lag = pitch.lag_frames;
  if (lag == 0) {
    copy_unchanged();
    return result;
  }
  result.lag_frames = lag;

  // The decision looks at exactly the two periods that will be crossfaded.
  double cross = 0.0;
  double energy_a = 0.0;
  double energy_b = 0.0;
  for (int i = 0; i < lag; ++i) {
    const double a = mono[static_cast<size_t>(i)];
    const double b = mono[static_cast<size_t>(i + lag)];
    cross += a * b;
    energy_a += a * a;
    energy_b += b * b;
  }
  result.correlation =
      energy_a > 0.0 && energy_b > 0.0 ? cross / std::sqrt(energy_a * energy_b) : 0.0;
  result.low_energy = (energy_a + energy_b) / (2.0 * lag) < low_energy_power_;
  if (result.correlation < config_.correlation_threshold && !result.low_energy) {
    copy_unchanged();
    return result;
  }

  // Raised-cosine fade-in over one period: w[i] = 0.5 - 0.5 cos(pi (i + 0.5) / L).
  for (int i = 0; i < lag; ++i) {
    window_[static_cast<size_t>(i)] = static_cast<float>(
        0.5 - 0.5 * std::cos(std::numbers::pi * (i + 0.5) / static_cast<double>(lag)));
  }
  const auto at = [&](int frame, int c) {
    return static_cast<double>(in[static_cast<size_t>(frame * channels + c)]);
  };
  const size_t period_samples = static_cast<size_t>(lag * channels);
  if (mode == Mode::kAccelerate) {
    for (int i = 0; i < lag; ++i) {
      const double w = window_[static_cast<size_t>(i)];
      for (int c = 0; c < channels; ++c) {
        out[static_cast<size_t>(i * channels + c)] =
            Saturate((1.0 - w) * at(i, c) + w * at(i + lag, c));
      }
    }
    std::copy(in.begin() + static_cast<std::ptrdiff_t>(2 * period_samples), in.end(),
              out.begin() + static_cast<std::ptrdiff_t>(period_samples));
    result.frames_written = n - lag;
  } else {
    std::copy(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(period_samples), out.begin());
    for (int i = 0; i < lag; ++i) {
      const double w = window_[static_cast<size_t>(i)];
      for (int c = 0; c < channels; ++c) {
        out[static_cast<size_t>((lag + i) * channels + c)] =
            Saturate((1.0 - w) * at(lag + i, c) + w * at(i, c));
      }
    }
    std::copy(in.begin() + static_cast<std::ptrdiff_t>(period_samples), in.end(),
              out.begin() + static_cast<std::ptrdiff_t>(2 * period_samples));
    result.frames_written = n + lag;
  }
  result.frames_changed = lag;
  return result;
}

StretchBudget::StretchBudget(const Config& config)
    : config_(config), max_credit_frames_(config.max_burst_ms * config.sample_rate_hz / 1000.0) {
  if (config.sample_rate_hz <= 0 || config.max_fraction < 0.0 || config.max_fraction > 1.0 ||
      config.max_burst_ms < 0.0) {
    throw std::invalid_argument("StretchBudget: bad rate, fraction or burst");
  }
}

void StretchBudget::OnPlayed(int64_t frames) {
  played_frames_ += frames;
  credit_frames_ = std::min(max_credit_frames_,
                            credit_frames_ + config_.max_fraction * static_cast<double>(frames));
}

void StretchBudget::OnStretched(int64_t frames) {
  stretched_frames_ += frames;
  credit_frames_ -= static_cast<double>(frames);
}

int64_t StretchBudget::available_frames() const {
  return std::max<int64_t>(0, static_cast<int64_t>(std::floor(credit_frames_)));
}

}  // namespace parley::playout
