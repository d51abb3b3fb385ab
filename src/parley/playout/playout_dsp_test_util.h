// Helpers for the playout DSP tests (time stretch, expand, merge): a click metric and
// voiced-speech finders. Not part of the library.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "parley/playout/pitch.h"

namespace parley::playout::test {

// The q-quantile (0..1) of |x[n] - x[n-1]| over x.
inline double StepQuantile(std::span<const int16_t> x, double q) {
  std::vector<int> steps;
  for (size_t n = 1; n < x.size(); ++n) steps.push_back(std::abs(x[n] - x[n - 1]));
  if (steps.empty()) return 0.0;
  const size_t k = std::min(steps.size() - 1, static_cast<size_t>(q * steps.size()));
  std::nth_element(steps.begin(), steps.begin() + static_cast<std::ptrdiff_t>(k), steps.end());
  return steps[k];
}

// The click metric: max |x[n] - x[n-1]| for n in [begin, end) of `signal`, divided by the
// 99th percentile of |x[n] - x[n-1]| of `reference` (the surrounding real audio). A
// splice is click-free when this stays at or below a small k (the tests use 2): a click
// is a step far steeper than anything the signal does by itself.
inline double ClickRatio(std::span<const int16_t> signal, size_t begin, size_t end,
                         std::span<const int16_t> reference) {
  int max_step = 0;
  for (size_t n = std::max<size_t>(begin, 1); n < std::min(end, signal.size()); ++n) {
    max_step = std::max(max_step, std::abs(signal[n] - signal[n - 1]));
  }
  return max_step / std::max(1.0, StepQuantile(reference, 0.99));
}

inline double Rms(std::span<const int16_t> x) {
  double e = 0.0;
  for (int16_t v : x) e += static_cast<double>(v) * v;
  return x.empty() ? 0.0 : std::sqrt(e / x.size());
}

// Start positions of `block_frames`-long blocks of `speech` (step: step_frames) that are
// voiced: period correlation >= min_correlation at the block start and RMS above
// min_rms (int16 units).
inline std::vector<size_t> VoicedBlocks(std::span<const int16_t> speech, int rate_hz,
                                        int block_frames, int step_frames, double min_correlation,
                                        double min_rms = 1000.0) {
  PitchEstimator pitch(rate_hz, block_frames);
  std::vector<float> mono(static_cast<size_t>(block_frames));
  std::vector<size_t> starts;
  for (size_t p = 0; p + static_cast<size_t>(block_frames) <= speech.size();
       p += static_cast<size_t>(step_frames)) {
    const auto block = speech.subspan(p, static_cast<size_t>(block_frames));
    if (Rms(block) < min_rms) continue;
    std::copy(block.begin(), block.end(), mono.begin());
    const PitchEstimator::Estimate e =
        pitch.Find(mono, PitchEstimator::Anchor::kStart, block_frames / 2);
    if (e.correlation >= min_correlation) starts.push_back(p);
  }
  return starts;
}

}  // namespace parley::playout::test
