// Keeps a mix of several voices within 16 bits without clipping. Summing N streams can
// reach N x full scale; clipping that sum squares off the waveform (loud, harsh
// distortion), so instead the block is scaled down: the gain drops at once, for the whole
// block, to what the block's peak needs, and recovers towards 1 with a time constant
// (200 ms by default), ramped across each block so the change is not a step. A block
// whose peak fits and a gain of 1 pass through unchanged: quiet mixes are bit-exact sums.
//
//   gain_end = min(ceiling / peak, gain + (1 - gain) x (1 - exp(-block / release)))
//
// The ceiling sits below full scale (27,000: -1.7 dBFS) so that a codec after the mix
// (Opus in a recording) has headroom for its own overshoot.
//
// Threading: one instance per mix, one thread at a time. Allocates nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>

namespace parley::audio {

struct MixLimiterConfig {
  // Largest magnitude written. 1..32767.
  int ceiling = 27'000;
  // Time constant of the gain's recovery after limiting. > 0.
  std::chrono::milliseconds release{200};
  // Duration of the blocks given to Apply (the mix's block, 10 ms in parley). > 0.
  std::chrono::milliseconds block{10};
};

class MixLimiter {
 public:
  using Config = MixLimiterConfig;

  // Throws std::invalid_argument for a Config outside its documented ranges.
  explicit MixLimiter(const Config& config = {});

  // Scales `sum` (one block) into `out`, of the same size (std::invalid_argument
  // otherwise). Returns true when the block was turned down (its gain below 1).
  bool Apply(std::span<const int32_t> sum, std::span<int16_t> out);

  // The gain at the end of the last block: 1 when nothing is being limited.
  double gain() const { return gain_; }

 private:
  // Passed by argument.
  const Config config_;
  // Others.
  double release_step_ = 0;  // 1 - exp(-block / release)
  double gain_ = 1.0;
};

}  // namespace parley::audio
