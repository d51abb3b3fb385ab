#include "parley/testing/signals.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "parley/audio/similarity.h"

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

double Heard(std::span<const int16_t> recording, std::span<const int16_t> source,
             int sample_rate_hz) {
  const int64_t pad = sample_rate_hz / 4;
  const int64_t segment_frames = sample_rate_hz / 5;
  const int64_t search = int64_t{sample_rate_hz} * 60 / 1000;
  std::vector<int16_t> padded(static_cast<size_t>(pad), 0);
  padded.insert(padded.end(), recording.begin(), recording.end());
  const int64_t lag =
      audio::CompareAligned(source, padded, sample_rate_hz, sample_rate_hz * 3 / 2).lag_samples;
  const std::span<const int16_t> heard(padded);
  double weighted = 0;
  double total_energy = 0;
  for (int64_t begin = 0; begin + segment_frames <= static_cast<int64_t>(source.size());
       begin += segment_frames) {
    const auto segment =
        source.subspan(static_cast<size_t>(begin), static_cast<size_t>(segment_frames));
    double energy = 0;
    for (int16_t x : segment) energy += static_cast<double>(x) * x;
    // Speech only: below -40 dBFS RMS a segment is a pause.
    if (energy / static_cast<double>(segment_frames) < 32768.0 * 32768.0 * 1e-4) continue;
    const int64_t from = std::max<int64_t>(0, begin + lag - search);
    const int64_t to = std::min<int64_t>(static_cast<int64_t>(heard.size()),
                                         begin + lag + segment_frames + search);
    if (to - from < segment_frames) continue;
    const auto window = heard.subspan(static_cast<size_t>(from), static_cast<size_t>(to - from));
    const auto similarity = audio::CompareAligned(segment, window, sample_rate_hz,
                                                  static_cast<int>(to - from - segment_frames));
    weighted += similarity.correlation * energy;
    total_energy += energy;
  }
  return total_energy > 0 ? weighted / total_energy : 0.0;
}

}  // namespace parley::testing
