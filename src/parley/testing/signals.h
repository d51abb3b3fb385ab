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

}  // namespace parley::testing
