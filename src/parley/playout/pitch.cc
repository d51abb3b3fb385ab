#include "parley/playout/pitch.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace parley::playout {
namespace {

// The decimated search runs at about this rate: pitch (50-400 Hz) is well below its
// Nyquist frequency, and the search costs D^2 less than at full rate.
constexpr int kSearchRateHz = 4000;

int MsToFrames(double ms, int rate_hz) {
  return static_cast<int>(std::lround(ms * rate_hz / 1000.0));
}

}  // namespace

PitchEstimator::PitchEstimator(int sample_rate_hz, int max_input_frames, double min_lag_ms,
                               double max_lag_ms, double window_ms)
    : decimation_(std::max(1, sample_rate_hz / kSearchRateHz)),
      min_lag_(std::max(1, MsToFrames(min_lag_ms, sample_rate_hz))),
      max_lag_(MsToFrames(max_lag_ms, sample_rate_hz)),
      window_(MsToFrames(window_ms, sample_rate_hz)),
      max_input_frames_(max_input_frames) {
  if (sample_rate_hz < 8000 || sample_rate_hz > 48000) {
    throw std::invalid_argument("PitchEstimator: sample rate must be 8000..48000 Hz");
  }
  if (min_lag_ms <= 0 || max_lag_ < min_lag_ || window_ <= 0 || max_input_frames <= 0) {
    throw std::invalid_argument("PitchEstimator: bad lag range, window or input size");
  }
  decimated_.resize(static_cast<size_t>(max_input_frames / decimation_) + 1);
}

double PitchEstimator::NormalizedCorrelation(std::span<const float> x, int a, int b, int w) {
  double cross = 0.0;
  double energy_a = 0.0;
  double energy_b = 0.0;
  for (int i = 0; i < w; ++i) {
    const double xa = x[static_cast<size_t>(a + i)];
    const double xb = x[static_cast<size_t>(b + i)];
    cross += xa * xb;
    energy_a += xa * xa;
    energy_b += xb * xb;
  }
  if (energy_a <= 0.0 || energy_b <= 0.0) return 0.0;
  return cross / std::sqrt(energy_a * energy_b);
}

PitchEstimator::Estimate PitchEstimator::Find(std::span<const float> x, Anchor anchor,
                                              int lag_limit_frames) const {
  const int n = static_cast<int>(x.size());
  if (n > max_input_frames_) {
    throw std::invalid_argument("PitchEstimator::Find: input longer than max_input_frames");
  }
  // The window shrinks to what is left after the longest lag, but not below the
  // shortest lag: a shorter comparison says little about periodicity.
  int max_lag = std::min(max_lag_, lag_limit_frames);
  int window = std::min(window_, n - max_lag);
  if (window < min_lag_) {
    window = std::min(window_, n / 2);
    max_lag = std::min(max_lag, n - window);
  }
  if (max_lag < min_lag_ || window < min_lag_) return {};

  // Offsets of the two compared parts for lag L: x[a..a+W) against x[b(L)..b(L)+W).
  const auto offsets = [&](int lag, int w, int len) {
    return anchor == Anchor::kStart ? std::pair<int, int>{0, lag}
                                    : std::pair<int, int>{len - w, len - w - lag};
  };

  // Decimated search.
  const int d = decimation_;
  const int nd = n / d;
  for (int i = 0; i < nd; ++i) {
    float sum = 0.0f;
    for (int k = 0; k < d; ++k) sum += x[static_cast<size_t>(i * d + k)];
    decimated_[static_cast<size_t>(i)] = sum;
  }
  const std::span<const float> xd(decimated_.data(), static_cast<size_t>(nd));
  const int window_d = window / d;
  const int min_lag_d = (min_lag_ + d - 1) / d;
  const int max_lag_d = std::min(max_lag / d, nd - window_d);
  int best_lag = 0;
  double best = -2.0;
  if (window_d >= 2 && max_lag_d >= min_lag_d) {
    for (int lag = min_lag_d; lag <= max_lag_d; ++lag) {
      const auto [a, b] = offsets(lag, window_d, nd);
      const double c = NormalizedCorrelation(xd, a, b, window_d);
      if (c > best) {
        best = c;
        best_lag = lag * d;
      }
    }
  }
  // Refinement at full rate around the decimated peak (or a full search when the
  // decimated signal was too short to search).
  const int lo = best_lag == 0 ? min_lag_ : std::max(min_lag_, best_lag - d);
  const int hi = best_lag == 0 ? max_lag : std::min(max_lag, best_lag + d);
  Estimate estimate;
  best = -2.0;
  for (int lag = lo; lag <= hi; ++lag) {
    const auto [a, b] = offsets(lag, window, n);
    const double c = NormalizedCorrelation(x, a, b, window);
    if (c > best) {
      best = c;
      estimate = {lag, c};
    }
  }
  if (estimate.correlation == 0.0) return {};
  return estimate;
}

}  // namespace parley::playout
