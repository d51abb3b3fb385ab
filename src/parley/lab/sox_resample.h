// Resampling for measurement: the same conversion as `sox IN.wav -R -D -r RATE OUT.wav
// rate -v` (libsoxr, the library form of SoX's rate effect: very high quality, linear
// phase, 95 % bandwidth, no dither), so that signals the lab prepares for a perceptual
// scorer are the ones a person preparing them with sox would get, sample for sample within
// rounding.
//
// Not the media path's resampler (audio/resampler.h, speexdsp, streaming and cheap): this
// one takes a whole signal at once and is slow by comparison.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "parley/base/result.h"

namespace parley::lab {

// `mono` at `from_hz` resampled to `to_hz`: round(size x to_hz / from_hz) samples, aligned
// with the input (the filter's delay is removed), rounded to 16 bits and clipped, without
// dither. The same rate returns a copy. Errors: a rate <= 0 or above 1 MHz, or libsoxr
// failing (its message quoted).
[[nodiscard]] Result<std::vector<int16_t>> ResampleLikeSox(std::span<const int16_t> mono,
                                                           int from_hz, int to_hz);

}  // namespace parley::lab
