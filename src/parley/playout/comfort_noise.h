// Comfort noise: deterministic random noise at a set level, white or shaped like a
// piece of recorded background (low-order LPC fit), for DTX and for long concealment.
//
// Why not spandsp's noise generator: its Hoth shaping is designed for 8 kHz only, its
// level is in dBm0 (G.711 convention), and its state is opaque, while the concealment
// needs to generate ahead and rewind (Checkpoint/Restore) for the merge preview.
//
// Level: RMS in dBFS where 0 dBFS is a full-scale square wave (as testing::RmsDbfs and
// RFC 6464 dBov). Excitation: Gaussian (Box-Muller) from xoshiro128+ seeded with `seed`,
// so the same seed gives the same samples on every platform with IEEE floats.
// Shaping: order-`lpc_order` all-pole filter 1/A(z) fitted by Levinson-Durbin on the
// Hann-windowed autocorrelation; the excitation is scaled by sqrt(E / r0) so the output
// keeps the set level (E: prediction error, r0: signal power).
//
// Not thread-safe; no allocation after construction. Misuse throws std::invalid_argument.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "parley/audio/audio_frame.h"

namespace parley::playout {

struct ComfortNoiseConfig {
  audio::AudioFormat format{16000, 1};  // 8000..48000 Hz, 1..8 channels (same noise in each)
  uint64_t seed = 1;
  double level_dbfs = -60.0;  // initial level; <= 0
  // Spectral envelope detail: 10 poles follow speech-band background formants at any rate
  // (the usual order for 8-16 kHz LPC); 0 disables shaping.
  int lpc_order = 10;
  // Longest signal SetSpectrumFrom() reads (longer input uses its last part).
  double max_analysis_ms = 40.0;
};

class ComfortNoise {
 public:
  static constexpr int kMaxLpcOrder = 16;

  explicit ComfortNoise(const ComfortNoiseConfig& config);
  ComfortNoise(const ComfortNoise&) = delete;
  ComfortNoise& operator=(const ComfortNoise&) = delete;

  // RMS level of what Generate() writes, in dBFS (clamped to <= 0).
  void SetLevelDbfs(double level_dbfs);
  double level_dbfs() const { return level_dbfs_; }

  // Fits the spectral envelope of `samples` (interleaved in the configured format;
  // channels averaged). Silent or too short input (< lpc_order + 1 frames) falls back to
  // white noise. Does not change the level.
  void SetSpectrumFrom(std::span<const int16_t> samples);
  // Back to white noise.
  void ClearSpectrum();
  bool shaped() const { return order_ > 0; }

  // Writes noise at the set level to every channel of `out` (interleaved; size a
  // multiple of the channel count).
  void Generate(std::span<int16_t> out);
  // The same noise as floats in int16 units, mono: for mixing by the concealment.
  void GenerateMono(std::span<float> out);

  // What Generate() depends on besides level and spectrum: copy it to rewind.
  struct State {
    std::array<uint32_t, 4> rng{};
    std::array<float, kMaxLpcOrder> memory{};  // past outputs, newest first
    float spare = 0.0f;                        // second Box-Muller value
    bool has_spare = false;
  };
  State Checkpoint() const { return state_; }
  void Restore(const State& state) { state_ = state; }

 private:
  float NextGaussian();

  // Passed by argument.
  const ComfortNoiseConfig config_;
  // Allocated by this.
  std::vector<float> analysis_;  // mono, windowed signal for the fit
  // Others.
  State state_;
  double level_dbfs_ = 0.0;
  float excitation_gain_ = 0.0f;  // Gaussian (unit variance) -> output at the level
  float shaping_gain_ = 1.0f;     // sqrt(E / r0) of the fitted filter (1 when white)
  int order_ = 0;
  std::array<float, kMaxLpcOrder> lpc_{};  // a[1..p]: y[n] = e[n] - sum a[k] y[n-k]
};

}  // namespace parley::playout
