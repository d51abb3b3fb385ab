#include "parley/quality/spectral_distance.h"

#include <fftw3.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <numbers>
#include <stdexcept>

namespace parley::quality {
namespace {

constexpr double kInt16FullScale = 32768.0;
constexpr int kMinFrameSamples = 16;
constexpr double kSilentLevelDbfs = -200.0;

// FFTW's planner and plan destruction share global state and are not thread-safe;
// executing a finished plan is.
std::mutex& PlannerMutex() {
  static std::mutex mutex;
  return mutex;
}

}  // namespace

// A real-to-complex plan of the frame length with its own aligned buffers.
struct SpectralDistance::Fft {
  explicit Fft(int n) {
    const std::lock_guard<std::mutex> lock(PlannerMutex());
    input = fftwf_alloc_real(static_cast<size_t>(n));
    output = fftwf_alloc_complex(static_cast<size_t>(n / 2 + 1));
    // FFTW_ESTIMATE: planning costs microseconds and is deterministic; FFTW_MEASURE
    // would time candidate algorithms on every construction.
    if (input != nullptr && output != nullptr) {
      plan = fftwf_plan_dft_r2c_1d(n, input, output, FFTW_ESTIMATE);
    }
    if (plan == nullptr) {
      Release();
      throw std::runtime_error(fmt::format("SpectralDistance: FFTW could not plan size {}", n));
    }
  }
  ~Fft() {
    const std::lock_guard<std::mutex> lock(PlannerMutex());
    Release();
  }
  Fft(const Fft&) = delete;
  Fft& operator=(const Fft&) = delete;

  // Caller holds the planner mutex.
  void Release() {
    if (plan != nullptr) fftwf_destroy_plan(plan);
    fftwf_free(input);
    fftwf_free(output);
    plan = nullptr;
    input = nullptr;
    output = nullptr;
  }

  float* input = nullptr;
  fftwf_complex* output = nullptr;
  fftwf_plan plan = nullptr;
};

SpectralDistance::SpectralDistance(int sample_rate_hz, int frame_samples,
                                   SpectralDistanceOptions options)
    : sample_rate_hz_(sample_rate_hz), frame_samples_(frame_samples), options_(options) {
  if (sample_rate_hz <= 0) {
    throw std::invalid_argument(
        fmt::format("SpectralDistance: sample_rate_hz {} must be > 0", sample_rate_hz));
  }
  if (frame_samples < kMinFrameSamples) {
    throw std::invalid_argument(fmt::format("SpectralDistance: frame_samples {} must be >= {}",
                                            frame_samples, kMinFrameSamples));
  }
  const double nyquist_hz = sample_rate_hz / 2.0;
  if (!(options.max_frequency_hz >= 0.0 && options.max_frequency_hz <= nyquist_hz)) {
    throw std::invalid_argument(
        fmt::format("SpectralDistance: max_frequency_hz {} must be in 0..{}",
                    options.max_frequency_hz, nyquist_hz));
  }
  if (!std::isfinite(options.floor_dbfs)) {
    throw std::invalid_argument("SpectralDistance: floor_dbfs must be finite");
  }

  const int half = frame_samples / 2;  // bin of Nyquist (or just below it for odd N)
  const int last_bin =
      options.max_frequency_hz == 0.0
          ? half
          : std::min(half, static_cast<int>(std::floor(options.max_frequency_hz * frame_samples /
                                                       sample_rate_hz)));
  bins_ = last_bin + 1;
  floor_power_ = std::pow(10.0, options.floor_dbfs / 10.0);

  fft_ = std::make_unique<Fft>(frame_samples);
  window_ = std::make_unique<float[]>(static_cast<size_t>(frame_samples));
  // Periodic Hann: overlapping frames at hop N/2 add up to a constant.
  for (int n = 0; n < frame_samples; ++n) {
    const double w = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * n / frame_samples);
    window_[static_cast<size_t>(n)] = static_cast<float>(w);
    window_power_ += w * w;
  }
  reference_db_ = std::make_unique<double[]>(static_cast<size_t>(bins_));
  degraded_db_ = std::make_unique<double[]>(static_cast<size_t>(bins_));
}

SpectralDistance::~SpectralDistance() = default;

void SpectralDistance::PowerDb(std::span<const int16_t> frame, double* power_db) {
  for (int n = 0; n < frame_samples_; ++n) {
    const size_t i = static_cast<size_t>(n);
    fft_->input[i] = static_cast<float>(frame[i] / kInt16FullScale) * window_[i];
  }
  fftwf_execute(fft_->plan);
  for (int k = 0; k < bins_; ++k) {
    const double re = fft_->output[k][0];
    const double im = fft_->output[k][1];
    const double power = (re * re + im * im) / window_power_;
    power_db[k] = 10.0 * std::log10(power + floor_power_);
  }
}

double SpectralDistance::FrameDb(std::span<const int16_t> reference,
                                 std::span<const int16_t> degraded) {
  const size_t n = static_cast<size_t>(frame_samples_);
  if (reference.size() != n || degraded.size() != n) {
    throw std::invalid_argument(
        fmt::format("SpectralDistance::FrameDb: frames of {} and {} samples, expected {}",
                    reference.size(), degraded.size(), n));
  }
  PowerDb(reference, reference_db_.get());
  PowerDb(degraded, degraded_db_.get());
  double sum = 0.0;
  for (int k = 0; k < bins_; ++k) {
    const double d = reference_db_[k] - degraded_db_[k];
    sum += d * d;
  }
  return std::sqrt(sum / bins_);
}

double FrameLevelDbfs(std::span<const int16_t> frame) {
  double sum = 0.0;
  for (const int16_t s : frame) sum += static_cast<double>(s) * s;
  if (frame.empty() || sum == 0.0) return kSilentLevelDbfs;
  const double rms = std::sqrt(sum / static_cast<double>(frame.size()));
  return 20.0 * std::log10(rms / kInt16FullScale);
}

SpectralDistanceSummary MeanSpectralDistance(std::span<const int16_t> reference,
                                             std::span<const int16_t> degraded, int sample_rate_hz,
                                             const SpectralDistanceConfig& config) {
  if (sample_rate_hz <= 0) {
    throw std::invalid_argument(
        fmt::format("MeanSpectralDistance: sample_rate_hz {} must be > 0", sample_rate_hz));
  }
  const int frame = static_cast<int>(std::lround(config.frame_ms * sample_rate_hz / 1000.0));
  const int hop = static_cast<int>(std::lround(config.hop_ms * sample_rate_hz / 1000.0));
  if (frame < kMinFrameSamples || hop < 1) {
    throw std::invalid_argument(fmt::format(
        "MeanSpectralDistance: frame_ms {} and hop_ms {} give {} and {} samples at {} Hz "
        "(need a frame >= {} and a hop >= 1)",
        config.frame_ms, config.hop_ms, frame, hop, sample_rate_hz, kMinFrameSamples));
  }

  SpectralDistance distance(sample_rate_hz, frame, config.options);
  const size_t length = std::min(reference.size(), degraded.size());
  const size_t frame_size = static_cast<size_t>(frame);
  SpectralDistanceSummary summary;
  double sum = 0.0;
  double worst = 0.0;
  for (size_t start = 0; start + frame_size <= length; start += static_cast<size_t>(hop)) {
    const std::span<const int16_t> ref = reference.subspan(start, frame_size);
    if (FrameLevelDbfs(ref) < config.silence_dbfs) {
      ++summary.frames_silent;
      continue;
    }
    const double db = distance.FrameDb(ref, degraded.subspan(start, frame_size));
    sum += db;
    worst = std::max(worst, db);
    ++summary.frames_compared;
  }
  if (summary.frames_compared == 0) {
    summary.mean_db = std::numeric_limits<double>::quiet_NaN();
    summary.max_db = std::numeric_limits<double>::quiet_NaN();
  } else {
    summary.mean_db = sum / summary.frames_compared;
    summary.max_db = worst;
  }
  return summary;
}

}  // namespace parley::quality
