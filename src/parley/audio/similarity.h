// Objective comparison of a decoded or degraded signal with its reference: delay,
// correlation, SNR and segmental SNR. For codec tests and the demo, where "did the audio
// survive?" needs a number; it is not a perceptual score (no PESQ/POLQA).
#pragma once

#include <cstdint>
#include <span>

namespace parley::audio {

struct Similarity {
  // Delay of `degraded` behind `reference`, in samples: degraded[n + lag] ~ reference[n].
  int lag_samples = 0;
  // Pearson correlation coefficient over the overlap, -1..1 (1: same waveform up to gain).
  double correlation = 0.0;
  // 10 log10(sum ref^2 / sum (ref - deg)^2) over the overlap, in dB, clamped to
  // +-kMaxSnrDb (identical signals give kMaxSnrDb).
  double snr_db = 0.0;
  // Mean over 20 ms segments of each segment's SNR clamped to [-10, 35] dB, skipping
  // segments where the reference is silent (below kSilenceDbfs); NaN if all are.
  double segmental_snr_db = 0.0;
};

inline constexpr double kMaxSnrDb = 100.0;
inline constexpr double kSegmentMs = 20.0;
inline constexpr double kMinSegmentSnrDb = -10.0;
inline constexpr double kMaxSegmentSnrDb = 35.0;
// Reference segments quieter than this RMS level (dB re int16 full scale) are silence.
inline constexpr double kSilenceDbfs = -60.0;

// Finds the delay of mono `degraded` relative to mono `reference` in 0..max_lag_samples
// as the lag with the largest cross-correlation sum ref[n] * deg[n + lag] (codecs only
// ever delay: Opus by 6.5 ms, 312 samples at 48 kHz), then measures over the overlapping
// part. The search runs on signals decimated to ~8 kHz (factor D = rate / 8000) and
// refines its 3 best peaks at full rate: about n * max_lag / D^2 + 6 D n multiply-adds,
// 3.4 s at 48 kHz with max_lag 2400 in ~20 ms (release build).
// A periodic signal (a pure tone) matches at every period: the lag found is then one of
// them. If the overlap is empty every figure is 0 except the SNRs, which are NaN.
// Throws std::invalid_argument if sample_rate_hz <= 0 or max_lag_samples < 0.
Similarity CompareAligned(std::span<const int16_t> reference, std::span<const int16_t> degraded,
                          int sample_rate_hz, int max_lag_samples);

}  // namespace parley::audio
