#include "parley/audio/similarity.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace parley::audio {
namespace {

// The coarse search runs at about this rate (48 kHz is decimated by 6).
constexpr int kCoarseRateHz = 8000;
// Coarse candidates refined at full rate: more than one, so that a near-tie between a
// speech period and the true delay at the coarse rate is settled at full resolution.
constexpr int kRefineCandidates = 3;
constexpr double kInt16FullScale = 32768.0;

// Box-filter decimation by `factor`: crude, but the coarse lag only has to land within
// one decimated sample of the truth; the refinement does the rest.
std::vector<double> Decimate(std::span<const int16_t> x, int factor) {
  std::vector<double> out(x.size() / static_cast<size_t>(factor));
  for (size_t i = 0; i < out.size(); ++i) {
    double sum = 0.0;
    for (int k = 0; k < factor; ++k) sum += x[i * factor + k];
    out[i] = sum;
  }
  return out;
}

// sum a[i] * b[i + lag] over the overlap. Unnormalized on purpose: longer overlaps score
// higher, so a lag near the end can never win on a handful of samples.
template <typename T>
double CrossCorrelation(std::span<const T> a, std::span<const T> b, int lag) {
  if (lag >= static_cast<int>(b.size())) return -std::numeric_limits<double>::infinity();
  const size_t n = std::min(a.size(), b.size() - static_cast<size_t>(lag));
  const T* shifted = b.data() + lag;
  // Four independent sums so the additions pipeline (the compiler may not reorder a
  // single floating-point sum).
  double sum[4] = {0.0, 0.0, 0.0, 0.0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (size_t k = 0; k < 4; ++k) sum[k] += static_cast<double>(a[i + k]) * shifted[i + k];
  }
  for (; i < n; ++i) sum[0] += static_cast<double>(a[i]) * shifted[i];
  return (sum[0] + sum[1]) + (sum[2] + sum[3]);
}

// Indices of the `count` highest scores, at least two apart (a peak's shoulder is not
// a second candidate).
std::vector<int> BestPeaks(const std::vector<double>& scores, int count) {
  std::vector<int> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] > scores[b]; });
  std::vector<int> peaks;
  for (int index : order) {
    if (static_cast<int>(peaks.size()) == count) break;
    const bool separate = std::all_of(peaks.begin(), peaks.end(),
                                      [&](int peak) { return std::abs(peak - index) > 1; });
    if (separate) peaks.push_back(index);
  }
  return peaks;
}

int FindLag(std::span<const int16_t> reference, std::span<const int16_t> degraded,
            int sample_rate_hz, int max_lag) {
  const int factor = std::max(1, sample_rate_hz / kCoarseRateHz);
  const std::vector<double> ref_coarse = Decimate(reference, factor);
  const std::vector<double> deg_coarse = Decimate(degraded, factor);
  const int max_coarse_lag = (max_lag + factor - 1) / factor;
  std::vector<double> scores(static_cast<size_t>(max_coarse_lag) + 1);
  for (int lag = 0; lag <= max_coarse_lag; ++lag) {
    scores[lag] = CrossCorrelation<double>(ref_coarse, deg_coarse, lag);
  }
  int best_lag = 0;
  double best_score = -std::numeric_limits<double>::infinity();
  for (int peak : BestPeaks(scores, kRefineCandidates)) {
    const int from = std::max(0, (peak - 1) * factor);
    const int to = std::min(max_lag, (peak + 1) * factor);
    for (int lag = from; lag <= to; ++lag) {
      const double score = CrossCorrelation(reference, degraded, lag);
      if (score > best_score || (score == best_score && lag < best_lag)) {
        best_score = score;
        best_lag = lag;
      }
    }
  }
  return best_lag;
}

double PowerRatioDb(double signal, double noise) {
  if (noise == 0.0) return kMaxSnrDb;
  if (signal == 0.0) return -kMaxSnrDb;
  return std::clamp(10.0 * std::log10(signal / noise), -kMaxSnrDb, kMaxSnrDb);
}

double SegmentalSnrDb(std::span<const int16_t> ref, std::span<const int16_t> deg,
                      int sample_rate_hz) {
  const auto segment = static_cast<size_t>(std::lround(sample_rate_hz * kSegmentMs / 1000.0));
  const double silence_energy =
      std::pow(10.0, kSilenceDbfs / 10.0) * kInt16FullScale * kInt16FullScale * segment;
  double sum_db = 0.0;
  int segments = 0;
  for (size_t start = 0; segment > 0 && start + segment <= ref.size(); start += segment) {
    double signal = 0.0;
    double noise = 0.0;
    for (size_t i = start; i < start + segment; ++i) {
      const double r = ref[i];
      const double e = r - deg[i];
      signal += r * r;
      noise += e * e;
    }
    if (signal < silence_energy) continue;
    sum_db += std::clamp(PowerRatioDb(signal, noise), kMinSegmentSnrDb, kMaxSegmentSnrDb);
    ++segments;
  }
  return segments == 0 ? std::numeric_limits<double>::quiet_NaN() : sum_db / segments;
}

double PearsonCorrelation(std::span<const int16_t> a, std::span<const int16_t> b) {
  const auto n = static_cast<double>(a.size());
  double mean_a = 0.0;
  double mean_b = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    mean_a += a[i];
    mean_b += b[i];
  }
  mean_a /= n;
  mean_b /= n;
  double cov = 0.0;
  double var_a = 0.0;
  double var_b = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double da = a[i] - mean_a;
    const double db = b[i] - mean_b;
    cov += da * db;
    var_a += da * da;
    var_b += db * db;
  }
  if (var_a == 0.0 || var_b == 0.0) return 0.0;
  return cov / std::sqrt(var_a * var_b);
}

}  // namespace

Similarity CompareAligned(std::span<const int16_t> reference, std::span<const int16_t> degraded,
                          int sample_rate_hz, int max_lag_samples) {
  if (sample_rate_hz <= 0 || max_lag_samples < 0) {
    throw std::invalid_argument(fmt::format("CompareAligned: sample rate {} Hz, max lag {}",
                                            sample_rate_hz, max_lag_samples));
  }
  Similarity result;
  if (reference.empty() || degraded.empty()) {
    result.snr_db = std::numeric_limits<double>::quiet_NaN();
    result.segmental_snr_db = std::numeric_limits<double>::quiet_NaN();
    return result;
  }
  const int max_lag = std::min<int64_t>(max_lag_samples, static_cast<int64_t>(degraded.size()) - 1);
  result.lag_samples = FindLag(reference, degraded, sample_rate_hz, max_lag);

  const size_t overlap = std::min(reference.size(), degraded.size() - result.lag_samples);
  const auto ref = reference.first(overlap);
  const auto deg = degraded.subspan(static_cast<size_t>(result.lag_samples), overlap);
  result.correlation = PearsonCorrelation(ref, deg);
  double signal = 0.0;
  double noise = 0.0;
  for (size_t i = 0; i < overlap; ++i) {
    const double r = ref[i];
    const double e = r - deg[i];
    signal += r * r;
    noise += e * e;
  }
  result.snr_db = PowerRatioDb(signal, noise);
  result.segmental_snr_db = SegmentalSnrDb(ref, deg, sample_rate_hz);
  return result;
}

}  // namespace parley::audio
