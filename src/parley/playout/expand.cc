#include "parley/playout/expand.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace parley::playout {
namespace {

constexpr double kInt16FullScale = 32768.0;
constexpr double kMsPer20 = 20.0;
// The background estimate follows quieter blocks at once and rises by this much per
// 10 ms block otherwise (about +2 dB per second), so speech pauses pull it down and
// continuous speech lifts it only slowly.
constexpr double kBackgroundRiseDbPerBlock = 0.02;
// The comfort level is capped by the level of this much recent history.
constexpr double kRecentLevelMs = 50.0;

int MsToFrames(double ms, int rate_hz) {
  return static_cast<int>(std::lround(ms * rate_hz / 1000.0));
}

double PowerToDbfs(double power) {
  return power > 0.0 ? 10.0 * std::log10(power / (kInt16FullScale * kInt16FullScale)) : -200.0;
}

const audio::AudioFormat& Validated(const ExpandConfig& config) {
  const audio::AudioFormat& f = config.format;
  if (f.sample_rate_hz < 8000 || f.sample_rate_hz > 48000 || f.channels < 1 ||
      f.channels > Expand::kMaxChannels) {
    throw std::invalid_argument("Expand: format must be 8000..48000 Hz, 1..8 channels");
  }
  if (config.history_ms < 2.6 * config.max_lag_ms || config.short_gap_ms < 0 ||
      config.long_gap_ms < config.short_gap_ms || config.fade_out_ms <= 0 ||
      config.decay_db_per_20ms < 0 || config.comfort_below_recent_db < 0 || config.lag_jitter < 0 ||
      config.lag_jitter > 0.2) {
    throw std::invalid_argument(
        "Expand: history_ms < 2.6 x max_lag_ms, or bad gap lengths, decay or jitter");
  }
  return f;
}

uint32_t XorShift(uint32_t& s) {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}

}  // namespace

Expand::Expand(const ExpandConfig& config)
    : config_(config),
      channels_(Validated(config).channels),
      history_frames_(MsToFrames(config.history_ms, config.format.sample_rate_hz)),
      block_frames_(MsToFrames(10.0, config.format.sample_rate_hz)),
      short_frames_(MsToFrames(config.short_gap_ms, config.format.sample_rate_hz)),
      long_frames_(MsToFrames(config.long_gap_ms, config.format.sample_rate_hz)),
      fade_frames_(std::max(1, MsToFrames(config.fade_out_ms, config.format.sample_rate_hz))),
      decay_db_per_frame_(config.decay_db_per_20ms /
                          (kMsPer20 * config.format.sample_rate_hz / 1000.0)),
      history_(static_cast<size_t>(history_frames_ * channels_)),
      source_(history_.size()),
      mono_(static_cast<size_t>(history_frames_)),
      noise_(static_cast<size_t>(block_frames_)),
      pitch_(config.format.sample_rate_hz, history_frames_, config.min_lag_ms, config.max_lag_ms),
      comfort_(ComfortNoiseConfig{.format = config.format,
                                  .seed = config.seed,
                                  .level_dbfs = config.comfort_floor_dbfs,
                                  .lpc_order = config.comfort_lpc_order,
                                  .max_analysis_ms = 10.0}) {}

void Expand::Reset() {
  history_filled_ = 0;
  source_frames_ = 0;
  event_ = Event{};
  background_power_ = -1.0;
  block_energy_ = 0.0;
  block_filled_ = 0;
}

void Expand::AppendHistory(std::span<const int16_t> samples) {
  if (samples.size() % static_cast<size_t>(channels_) != 0) {
    throw std::invalid_argument("Expand: samples not a whole number of frames");
  }
  const int n = std::min(static_cast<int>(samples.size()) / channels_, history_frames_);
  samples = samples.last(static_cast<size_t>(n * channels_));
  const int keep = std::min(history_filled_, history_frames_ - n);
  const auto begin = history_.begin();
  std::copy(begin + (history_filled_ - keep) * channels_, begin + history_filled_ * channels_,
            begin);
  std::copy(samples.begin(), samples.end(), begin + keep * channels_);
  history_filled_ = keep + n;
}

void Expand::TrackBackground(std::span<const int16_t> samples) {
  const double rise = std::pow(10.0, kBackgroundRiseDbPerBlock / 10.0);
  for (size_t i = 0; i < samples.size(); i += static_cast<size_t>(channels_)) {
    double sum = 0.0;
    for (int c = 0; c < channels_; ++c) sum += samples[i + static_cast<size_t>(c)];
    sum /= channels_;
    block_energy_ += sum * sum;
    if (++block_filled_ < block_frames_) continue;
    const double power = block_energy_ / block_frames_;
    background_power_ =
        background_power_ < 0.0 || power < background_power_ ? power : background_power_ * rise;
    block_energy_ = 0.0;
    block_filled_ = 0;
  }
}

void Expand::AppendPlayed(std::span<const int16_t> samples) {
  event_.active = false;
  event_.frames = 0;
  AppendHistory(samples);
  TrackBackground(samples);
}

double Expand::background_dbfs() const {
  return background_power_ < 0.0 ? config_.comfort_floor_dbfs : PowerToDbfs(background_power_);
}

ConcealmentPhase Expand::phase() const {
  if (!event_.active) return ConcealmentPhase::kNone;
  if (event_.frames < short_frames_) return ConcealmentPhase::kShort;
  if (event_.frames < long_frames_) return ConcealmentPhase::kMedium;
  return ConcealmentPhase::kLong;
}

double Expand::voiced_gain() const {
  if (!event_.active) return 1.0;
  return VoicedGain(event_.frames, event_.lag > 0);
}

double Expand::VoicedGain(int64_t t, bool has_signal) const {
  if (!has_signal) return 0.0;
  if (t < short_frames_) return 1.0;
  const auto decayed = [this](int64_t u) {
    return std::pow(10.0, -decay_db_per_frame_ * static_cast<double>(u - short_frames_) / 20.0);
  };
  if (t < long_frames_) return decayed(t);
  const double fade = 1.0 - static_cast<double>(t - long_frames_) / fade_frames_;
  return fade > 0.0 ? decayed(long_frames_) * fade : 0.0;
}

void Expand::StartEvent() {
  event_ = Event{};
  event_.active = true;
  event_.rng = static_cast<uint32_t>(config_.seed * 2654435761u) | 1u;
  source_frames_ = history_filled_;
  std::copy(history_.begin(), history_.begin() + history_filled_ * channels_, source_.begin());
  const int n = source_frames_;

  // Comfort level: the background, capped by the recent level, at least the floor.
  double recent_power = 0.0;
  const int recent = std::min(n, MsToFrames(kRecentLevelMs, config_.format.sample_rate_hz));
  for (int i = (n - recent) * channels_; i < n * channels_; ++i) {
    recent_power +=
        static_cast<double>(source_[static_cast<size_t>(i)]) * source_[static_cast<size_t>(i)];
  }
  recent_power = recent > 0 ? recent_power / (recent * channels_) : 0.0;
  const double background = background_power_ < 0.0 ? recent_power : background_power_;
  const double cap = recent_power * std::pow(10.0, -config_.comfort_below_recent_db / 10.0);
  event_.comfort_dbfs =
      std::max(config_.comfort_floor_dbfs, PowerToDbfs(std::min(background, cap)));
  comfort_.SetLevelDbfs(event_.comfort_dbfs);

  // Shape the noise like the quietest 10 ms block of the history.
  int quietest = -1;
  double quietest_power = 0.0;
  for (int b = 0; b + block_frames_ <= n; b += block_frames_) {
    double e = 0.0;
    for (int i = b * channels_; i < (b + block_frames_) * channels_; ++i) {
      e += static_cast<double>(source_[static_cast<size_t>(i)]) * source_[static_cast<size_t>(i)];
    }
    if (quietest < 0 || e < quietest_power) {
      quietest = b;
      quietest_power = e;
    }
  }
  if (quietest >= 0) {
    comfort_.SetSpectrumFrom(std::span<const int16_t>(source_).subspan(
        static_cast<size_t>(quietest * channels_), static_cast<size_t>(block_frames_ * channels_)));
  } else {
    comfort_.ClearSpectrum();
  }
  event_.noise = comfort_.Checkpoint();

  // The period at the end of the history. A cycle reaches back L (1 + jitter) + L / 4 + 1.
  for (int i = 0; i < n; ++i) {
    float sum = 0.0f;
    for (int c = 0; c < channels_; ++c) sum += source_[static_cast<size_t>(i * channels_ + c)];
    mono_[static_cast<size_t>(i)] = sum;
  }
  const int lag_limit = static_cast<int>((n - 2) / (1.25 + config_.lag_jitter));
  const PitchEstimator::Estimate pitch =
      pitch_.Find(std::span<const float>(mono_.data(), static_cast<size_t>(n)),
                  PitchEstimator::Anchor::kEnd, lag_limit);
  event_.lag = pitch.lag_frames;
  if (event_.lag == 0) return;
  event_.overlap = std::max(1, event_.lag / 4);
  // The first cycle continues one period back (x[n - L + o]) and ends where the
  // crossfade into the next cycle begins, at x[n - overlap).
  event_.grain_length = event_.lag - event_.overlap;
  event_.grain_start = n - event_.lag;
  event_.first_grain = true;
  for (int c = 0; c < channels_; ++c) {
    event_.first_offset[static_cast<size_t>(c)] =
        static_cast<float>(source_[static_cast<size_t>((n - 1) * channels_ + c)] -
                           source_[static_cast<size_t>((event_.grain_start - 1) * channels_ + c)]);
  }
}

void Expand::NextGrain() {
  const int n = source_frames_;
  int lag = event_.lag;
  int periods = 1;
  if (event_.frames >= short_frames_) {
    // Medium gaps: vary the period and the cycle taken, against a periodic buzz.
    const int jitter = static_cast<int>(std::lround(event_.lag * config_.lag_jitter));
    if (jitter > 0) {
      lag +=
          static_cast<int>(XorShift(event_.rng) % static_cast<uint32_t>(2 * jitter + 1)) - jitter;
    }
    if (2 * lag + event_.overlap <= n && (XorShift(event_.rng) & 1u) != 0) periods = 2;
  }
  event_.grain_length = periods * lag;
  event_.grain_start = n - event_.grain_length - event_.overlap;
  event_.grain_pos = 0;
  event_.first_grain = false;
}

ConcealResult Expand::Generate(std::span<int16_t> samples, bool codec_plc, bool commit) {
  if (samples.size() % static_cast<size_t>(channels_) != 0) {
    throw std::invalid_argument("Expand: samples not a whole number of frames");
  }
  const Event saved = event_;
  if (!event_.active) StartEvent();
  comfort_.Restore(event_.noise);

  const int total = static_cast<int>(samples.size()) / channels_;
  const bool has_signal = codec_plc || event_.lag > 0;
  const int n = source_frames_;
  ConcealResult result{total, 0};
  for (int done = 0; done < total;) {
    const int chunk = std::min(total - done, block_frames_);
    comfort_.GenerateMono(std::span<float>(noise_.data(), static_cast<size_t>(chunk)));
    for (int i = 0; i < chunk; ++i, ++done) {
      const double g = VoicedGain(event_.frames, has_signal);
      const double gn = std::sqrt(std::max(0.0, 1.0 - g * g));
      const double noise = gn * noise_[static_cast<size_t>(i)];
      if (g == 0.0) ++result.silent_frames;
      // Position in the current cycle and its crossfade weight.
      const int pos = event_.grain_pos;
      const int src = event_.grain_start + pos;
      const int ov = event_.overlap;
      const bool head = event_.lag > 0 && pos < ov;
      const double w =
          head ? 0.5 - 0.5 * std::cos(std::numbers::pi * (pos + 0.5) / static_cast<double>(ov))
               : 1.0;
      for (int c = 0; c < channels_; ++c) {
        const size_t k = static_cast<size_t>(done * channels_ + c);
        double signal = 0.0;
        if (codec_plc) {
          signal = samples[k];
        } else if (event_.lag > 0 && g > 0.0) {
          signal = source_[static_cast<size_t>(src * channels_ + c)];
          if (head && event_.first_grain) {
            signal +=
                (1.0 - static_cast<double>(pos) / ov) * event_.first_offset[static_cast<size_t>(c)];
          } else if (head) {
            const double tail = source_[static_cast<size_t>((n - ov + pos) * channels_ + c)];
            signal = (1.0 - w) * tail + w * signal;
          }
        }
        samples[k] =
            static_cast<int16_t>(std::clamp(std::lround(g * signal + noise), -32768L, 32767L));
      }
      if (event_.lag > 0 && ++event_.grain_pos == event_.grain_length) NextGrain();
      ++event_.frames;
    }
  }
  event_.noise = comfort_.Checkpoint();
  if (commit) {
    AppendHistory(samples);
  } else {
    event_ = saved;
  }
  return result;
}

ConcealResult Expand::ConcealFromHistory(std::span<int16_t> out) {
  return Generate(out, /*codec_plc=*/false, /*commit=*/true);
}

ConcealResult Expand::ShapeCodecPlc(std::span<int16_t> samples) {
  return Generate(samples, /*codec_plc=*/true, /*commit=*/true);
}

void Expand::Preview(std::span<int16_t> out) {
  std::fill(out.begin(), out.end(), int16_t{0});
  (void)Generate(out, /*codec_plc=*/false, /*commit=*/false);
}

}  // namespace parley::playout
