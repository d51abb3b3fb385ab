// Pitch-synchronous time-scale modification for the playout engine: Accelerate removes
// exactly one pitch period from a block, PreemptiveExpand inserts one. Neither resamples:
// pitch and timbre stay; only duration changes (the WSOLA idea, as NetEq's Accelerate and
// PreemptiveExpand).
//
// Accelerate, for a block x with period L:
//   out = crossfade(x[0..L) -> x[L..2L)) ++ x[2L..N)            (N - L samples)
// PreemptiveExpand:
//   out = x[0..L) ++ crossfade(x[L..2L) -> x[0..L)) ++ x[L..N)   (N + L samples)
// The crossfade is a raised cosine over the whole period, so the output starts with x[0]
// and flows into the untouched rest without a step. Either call acts only when the signal
// allows it: the two periods correlate at least `correlation_threshold`, or the block is
// quieter than `low_energy_dbfs` (then any segment can go). Otherwise the block is copied
// unchanged and the result says 0 samples changed.
//
// Samples are int16, mono or interleaved (analysis on the channel average, the same edit
// applied to every channel). Blocks of any length up to max_input_ms; lags longer than a
// half block are not searched, so pass at least 2 x max_lag_ms (40 ms) for the full range
// (30 ms gives lags up to 15 ms, as NetEq). Not thread-safe; no allocation after
// construction. Misuse (bad sizes) throws std::invalid_argument.
#pragma once

#include <climits>
#include <cstdint>
#include <span>
#include <vector>

#include "parley/audio/audio_frame.h"
#include "parley/playout/pitch.h"

namespace parley::playout {

struct TimeStretchConfig {
  audio::AudioFormat format{16000, 1};  // 8000..48000 Hz, 1..8 channels
  // Pitch search range (2.5 ms = 400 Hz, 20 ms = 50 Hz: all voices).
  double min_lag_ms = 2.5;
  double max_lag_ms = 20.0;
  // Two consecutive periods must correlate this well: below 0.9 the crossfade of voiced
  // speech becomes audible as roughness (NetEq uses 0.9 too).
  double correlation_threshold = 0.9;
  // Blocks quieter than this RMS level (dBFS, full-scale square = 0) are stretched
  // whatever their correlation: background noise hides the seam.
  double low_energy_dbfs = -45.0;
  // Longest block accepted.
  double max_input_ms = 120.0;
};

struct StretchResult {
  int frames_written = 0;   // samples per channel written to `out`
  int frames_changed = 0;   // samples per channel removed (Accelerate) or inserted; 0 if none
  int lag_frames = 0;       // pitch period found (0 if none)
  double correlation = 0;   // correlation of the two periods at that lag, -1..1
  bool low_energy = false;  // acted (or would have) because the block was quiet
};

class TimeStretch {
 public:
  // Throws std::invalid_argument on an unsupported format or a bad parameter.
  explicit TimeStretch(const TimeStretchConfig& config);
  TimeStretch(const TimeStretch&) = delete;
  TimeStretch& operator=(const TimeStretch&) = delete;

  // Removes one pitch period (at most max_removed_frames, e.g. what a StretchBudget
  // allows) from `in` if the signal allows it, else copies `in`. `out` needs room for
  // in.size() samples. Returns what was written and removed.
  [[nodiscard]] StretchResult Accelerate(std::span<const int16_t> in, std::span<int16_t> out,
                                         int max_removed_frames = INT_MAX);
  // Inserts one pitch period (at most max_inserted_frames) into `in` if the signal allows
  // it, else copies `in`. `out` needs room for in.size() + max_lag_frames() * channels.
  [[nodiscard]] StretchResult PreemptiveExpand(std::span<const int16_t> in, std::span<int16_t> out,
                                               int max_inserted_frames = INT_MAX);

  const TimeStretchConfig& config() const { return config_; }
  // The longest period searched, in samples per channel.
  int max_lag_frames() const { return pitch_.max_lag_frames(); }

 private:
  enum class Mode { kAccelerate, kPreemptiveExpand };
  StretchResult Run(Mode mode, std::span<const int16_t> in, std::span<int16_t> out,
                    int max_change_frames);

  // Passed by argument.
  const TimeStretchConfig config_;
  // Allocated by this.
  PitchEstimator pitch_;
  std::vector<float> mono_;    // channel average of the block
  std::vector<float> window_;  // raised-cosine fade-in, for the longest lag
  // Others.
  const int max_input_frames_;
  const double low_energy_power_;  // low_energy_dbfs as mean square (int16 units)
};

// Keeps time-scale modification within a share of the played time (about 10 %: more is
// heard as tempo change). A token bucket: every played sample earns `max_fraction`
// samples of credit, up to max_burst_ms; every stretched sample spends one. It starts
// empty, so stretched <= max_fraction * played holds at every moment. Units: samples per
// channel at the stream's rate.
class StretchBudget {
 public:
  struct Config {
    int sample_rate_hz = 16000;  // > 0
    double max_fraction = 0.10;  // 0..1
    // Credit cap: after long normal playout, at most this much stretching in a row
    // (60 ms: three 20 ms periods) before played time must earn more.
    double max_burst_ms = 60.0;
  };
  // Throws std::invalid_argument on a bad rate or fraction.
  explicit StretchBudget(const Config& config);

  // Records `frames` samples per channel sent to the device (stretched output included).
  void OnPlayed(int64_t frames);
  // Records an operation that removed or inserted `frames`.
  void OnStretched(int64_t frames);
  // True when `frames` more can be stretched now.
  bool Allows(int64_t frames) const { return frames <= available_frames(); }
  // Samples per channel that may be stretched now (>= 0).
  int64_t available_frames() const;

  int64_t played_frames() const { return played_frames_; }
  int64_t stretched_frames() const { return stretched_frames_; }

 private:
  const Config config_;
  const double max_credit_frames_;
  double credit_frames_ = 0.0;
  int64_t played_frames_ = 0;
  int64_t stretched_frames_ = 0;
};

}  // namespace parley::playout
