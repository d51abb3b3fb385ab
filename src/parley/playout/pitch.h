// Pitch period estimation by normalized autocorrelation, shared by time-scale
// modification (time_stretch.h) and concealment (expand.h).
//
// The search runs on the mono signal decimated to about 4 kHz (boxcar average of
// D = rate / 4000 samples, then every D-th sample), over lags of 2.5 to 20 ms by default,
// and the best decimated lag is refined at full rate within +-D samples. Cost at 48 kHz
// with 40 ms of input: about 12 k multiply-adds.
//
// Not thread-safe; one estimator per stream. No allocation after construction.
#pragma once

#include <span>
#include <vector>

namespace parley::playout {

class PitchEstimator {
 public:
  // Which part of the signal the period describes.
  enum class Anchor {
    kStart,  // x[0..W) against x[L..L+W): the period at the start (time stretching).
    kEnd,    // x[N-W..N) against x[N-W-L..N-L): the period at the end (concealment).
  };

  struct Estimate {
    int lag_frames = 0;        // pitch period in samples at the input rate; 0 if none
    double correlation = 0.0;  // normalized correlation at that lag, -1..1
  };

  // sample_rate_hz: 8000..48000. max_input_frames: the longest signal Find() accepts.
  // Lags in [min_lag_ms, max_lag_ms] at the input rate; window_ms: length W compared per
  // lag (shortened when the input is too short). Throws std::invalid_argument on a bad
  // rate, a non-positive or inverted lag range, or a non-positive window.
  PitchEstimator(int sample_rate_hz, int max_input_frames, double min_lag_ms = 2.5,
                 double max_lag_ms = 20.0, double window_ms = 10.0);
  PitchEstimator(const PitchEstimator&) = delete;
  PitchEstimator& operator=(const PitchEstimator&) = delete;

  // The period of mono `x` (any scale) among lags min_lag..min(max_lag, lag_limit_frames),
  // also limited so that lag + window fits in x. Returns lag 0 when no lag fits or x is
  // silent. Throws std::invalid_argument if x is longer than max_input_frames.
  Estimate Find(std::span<const float> x, Anchor anchor, int lag_limit_frames) const;

  int min_lag_frames() const { return min_lag_; }
  int max_lag_frames() const { return max_lag_; }
  int window_frames() const { return window_; }

 private:
  // Normalized correlation of x[a..a+w) with x[b..b+w); 0 if either part is silent.
  static double NormalizedCorrelation(std::span<const float> x, int a, int b, int w);

  const int decimation_;
  const int min_lag_;
  const int max_lag_;
  const int window_;
  const int max_input_frames_;
  // Allocated by this: the decimated signal, reused by every call.
  mutable std::vector<float> decimated_;
};

}  // namespace parley::playout
