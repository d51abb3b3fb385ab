// Splices decoded audio back after concealment without a click (NetEq's Merge).
//
// After a short or medium gap the concealment is still a continuation of the voice:
// Run() finds the offset s in [0, search_ms] at which the concealment continuation best
// correlates with the start of the new audio, plays s more samples of continuation, then
// crossfades (raised cosine, overlap_ms) from the continuation into the new audio:
//
//   out = cont[0..s) ++ crossfade(cont[s..s+V) -> new[0..V)) ++ new[V..)
//
// so the new audio is delayed by s samples, never cut. After a long gap (the repetition
// faded: concealment gain below fade_in_below_gain) there is nothing to align with: the
// new audio fades in over fade_in_ms from the comfort noise, s = 0.
//
// The continuation comes from Expand::Preview(); it needs search + overlap (or fade-in)
// samples per channel. Samples: int16, mono or interleaved (alignment on the channel
// average). Not thread-safe; no allocation after construction. Misuse throws
// std::invalid_argument.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "parley/audio/audio_frame.h"

namespace parley::playout {

struct MergeConfig {
  audio::AudioFormat format{16000, 1};  // 8000..48000 Hz, 1..8 channels
  // Alignment range: 10 ms covers periods down to 100 Hz voices; longer periods align
  // on a part of the cycle, which the crossfade tolerates.
  double search_ms = 10.0;
  // Crossfade length: 5 ms is two cycles of most voices, short enough not to smear.
  double overlap_ms = 5.0;
  // Fade-in after a long gap: 10 ms is click-free and does not eat the onset.
  double fade_in_ms = 10.0;
  // Below this concealment gain (-12 dB) the new audio fades in instead of aligning.
  double fade_in_below_gain = 0.25;
};

struct MergeResult {
  int frames_written = 0;   // samples per channel written: new audio + inserted
  int inserted_frames = 0;  // continuation samples played before the crossfade (s)
  bool faded_in = false;    // long-gap mode
  double correlation = 0;   // of the chosen alignment, -1..1 (0 when faded in)
};

class Merge {
 public:
  explicit Merge(const MergeConfig& config);
  Merge(const Merge&) = delete;
  Merge& operator=(const Merge&) = delete;

  // Splices `new_audio` after `continuation` (both interleaved; continuation at least
  // required_continuation_frames() per channel). concealment_gain: Expand::voiced_gain()
  // at the splice. `out` needs room for new_audio.size() + search frames * channels.
  [[nodiscard]] MergeResult Run(std::span<const int16_t> continuation,
                                std::span<const int16_t> new_audio, double concealment_gain,
                                std::span<int16_t> out);

  // Samples per channel of continuation Run() needs.
  int required_continuation_frames() const;
  int search_frames() const { return search_frames_; }

 private:
  // Passed by argument.
  const MergeConfig config_;
  const int channels_;
  const int search_frames_;
  const int overlap_frames_;
  const int fade_in_frames_;
  // Allocated by this.
  std::vector<float> cont_mono_;
  std::vector<float> new_mono_;
};

}  // namespace parley::playout
