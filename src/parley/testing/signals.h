// Test signals and measurements shared by the unit tests. Not part of the library.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace parley::testing {

// A sine of `frequency_hz`, `seconds` long, mono, peak `amplitude` (fraction of full scale).
std::vector<int16_t> Tone(double frequency_hz, int sample_rate_hz, double seconds,
                          double amplitude = 0.5);

// Root-mean-square level of `samples` in dB relative to full scale: 0 dBFS is a full-scale
// square wave, a full-scale sine is -3 dBFS (as dBov in RFC 6464). Silence gives -200.
double RmsDbfs(std::span<const int16_t> samples);

// Signal-to-noise ratio of `test` against `reference` (same length, already aligned), in dB:
// 10 log10(sum ref^2 / sum (ref - test)^2). Identical signals give 200. Throws
// std::invalid_argument if the lengths differ.
double SnrDb(std::span<const int16_t> reference, std::span<const int16_t> test);

// How well mono `source` is heard in mono `recording` (both at `sample_rate_hz`), 0..1:
// the energy-weighted mean, over the 200 ms segments of the source that hold speech (RMS
// above -40 dBFS), of each segment's correlation with the recording where that segment
// aligns best (audio::CompareAligned, within 60 ms of the whole clip's alignment, which
// is searched up to 1.5 s). Per segment, because a playout engine shortens or stretches
// its buffer while it plays (time-scale modification), so one alignment does not fit the
// whole clip. The recording is padded with 250 ms at the front, so that a source that
// began before the recording still aligns at a positive lag. For the end-to-end call and
// recording tests, which judge which voices a mix holds.
double Heard(std::span<const int16_t> recording, std::span<const int16_t> source,
             int sample_rate_hz);

}  // namespace parley::testing
