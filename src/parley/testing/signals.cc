#include "parley/testing/signals.h"

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace parley::testing {
namespace {

constexpr double kInt16FullScale = 32768.0;
// Returned for silence / identical signals, where the logarithm is infinite.
constexpr double kSilenceDbfs = -200.0;
constexpr double kIdenticalSnrDb = 200.0;

}  // namespace

std::vector<int16_t> Tone(double frequency_hz, int sample_rate_hz, double seconds,
                          double amplitude) {
  std::vector<int16_t> out(static_cast<size_t>(std::lround(seconds * sample_rate_hz)));
  const double step = 2.0 * std::numbers::pi * frequency_hz / sample_rate_hz;
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<int16_t>(std::lround(amplitude * 32767.0 * std::sin(step * i)));
  }
  return out;
}

double RmsDbfs(std::span<const int16_t> samples) {
  double energy = 0.0;
  for (int16_t s : samples) energy += static_cast<double>(s) * s;
  if (energy == 0.0) return kSilenceDbfs;
  return 10.0 * std::log10(energy / samples.size() / (kInt16FullScale * kInt16FullScale));
}

double SnrDb(std::span<const int16_t> reference, std::span<const int16_t> test) {
  if (reference.size() != test.size()) {
    throw std::invalid_argument("SnrDb: reference and test differ in length");
  }
  double signal = 0.0;
  double noise = 0.0;
  for (size_t i = 0; i < reference.size(); ++i) {
    const double r = reference[i];
    const double e = r - test[i];
    signal += r * r;
    noise += e * e;
  }
  if (noise == 0.0) return kIdenticalSnrDb;
  return 10.0 * std::log10(signal / noise);
}

}  // namespace parley::testing
