#include "parley/playout/merge.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace parley::playout {
namespace {

int MsToFrames(double ms, int rate_hz) {
  return static_cast<int>(std::lround(ms * rate_hz / 1000.0));
}

int ValidatedChannels(const MergeConfig& config) {
  const audio::AudioFormat& f = config.format;
  if (f.sample_rate_hz < 8000 || f.sample_rate_hz > 48000 || f.channels < 1 || f.channels > 8 ||
      config.search_ms < 0 || config.overlap_ms <= 0 || config.fade_in_ms <= 0) {
    throw std::invalid_argument(
        "Merge: format must be 8000..48000 Hz, 1..8 channels; overlap and fade-in > 0");
  }
  return f.channels;
}

double RaisedCosine(int i, int length) {
  return 0.5 - 0.5 * std::cos(std::numbers::pi * (i + 0.5) / static_cast<double>(length));
}

}  // namespace

Merge::Merge(const MergeConfig& config)
    : config_(config),
      channels_(ValidatedChannels(config)),
      search_frames_(MsToFrames(config.search_ms, config.format.sample_rate_hz)),
      overlap_frames_(std::max(1, MsToFrames(config.overlap_ms, config.format.sample_rate_hz))),
      fade_in_frames_(std::max(1, MsToFrames(config.fade_in_ms, config.format.sample_rate_hz))),
      cont_mono_(static_cast<size_t>(search_frames_ + overlap_frames_)),
      new_mono_(static_cast<size_t>(overlap_frames_)) {}

int Merge::required_continuation_frames() const {
  return std::max(search_frames_ + overlap_frames_, fade_in_frames_);
}

MergeResult Merge::Run(std::span<const int16_t> continuation, std::span<const int16_t> new_audio,
                       double concealment_gain, std::span<int16_t> out) {
  const size_t ch = static_cast<size_t>(channels_);
  if (continuation.size() % ch != 0 || new_audio.size() % ch != 0) {
    throw std::invalid_argument("Merge: samples not a whole number of frames");
  }
  if (continuation.size() < static_cast<size_t>(required_continuation_frames()) * ch) {
    throw std::invalid_argument("Merge: continuation shorter than required_continuation_frames()");
  }
  if (out.size() < new_audio.size() + static_cast<size_t>(search_frames_) * ch) {
    throw std::invalid_argument("Merge: output too small");
  }
  const int n = static_cast<int>(new_audio.size() / ch);
  const auto cont = [&](int frame, int c) {
    return static_cast<double>(
        continuation[static_cast<size_t>(frame) * ch + static_cast<size_t>(c)]);
  };
  const auto fresh = [&](int frame, int c) {
    return static_cast<double>(new_audio[static_cast<size_t>(frame) * ch + static_cast<size_t>(c)]);
  };
  const auto put = [&](int frame, int c, double v) {
    out[static_cast<size_t>(frame) * ch + static_cast<size_t>(c)] =
        static_cast<int16_t>(std::clamp(std::lround(v), -32768L, 32767L));
  };

  MergeResult result;
  if (concealment_gain < config_.fade_in_below_gain) {
    const int fade = std::min(fade_in_frames_, n);
    for (int i = 0; i < n; ++i) {
      const double w = i < fade ? RaisedCosine(i, fade) : 1.0;
      for (int c = 0; c < channels_; ++c) {
        put(i, c, i < fade ? (1.0 - w) * cont(i, c) + w * fresh(i, c) : fresh(i, c));
      }
    }
    result.frames_written = n;
    result.faded_in = true;
    return result;
  }

  // Alignment: normalized correlation of cont[s..s+V) with new[0..V), channel averages.
  const int overlap = std::min(overlap_frames_, n);
  const int span_frames = search_frames_ + overlap;
  for (int i = 0; i < span_frames; ++i) {
    double sum = 0.0;
    for (int c = 0; c < channels_; ++c) sum += cont(i, c);
    cont_mono_[static_cast<size_t>(i)] = static_cast<float>(sum);
  }
  double new_energy = 0.0;
  for (int i = 0; i < overlap; ++i) {
    double sum = 0.0;
    for (int c = 0; c < channels_; ++c) sum += fresh(i, c);
    new_mono_[static_cast<size_t>(i)] = static_cast<float>(sum);
    new_energy += sum * sum;
  }
  double cont_energy = 0.0;  // running energy of cont[s..s+V)
  for (int i = 0; i < overlap; ++i) {
    cont_energy += static_cast<double>(cont_mono_[static_cast<size_t>(i)]) *
                   cont_mono_[static_cast<size_t>(i)];
  }
  int best_offset = 0;
  double best = -2.0;
  for (int s = 0; s <= search_frames_; ++s) {
    if (s > 0) {
      const double gone = cont_mono_[static_cast<size_t>(s - 1)];
      const double come = cont_mono_[static_cast<size_t>(s + overlap - 1)];
      cont_energy = std::max(0.0, cont_energy - gone * gone + come * come);
    }
    double cross = 0.0;
    for (int i = 0; i < overlap; ++i) {
      cross += static_cast<double>(cont_mono_[static_cast<size_t>(s + i)]) *
               new_mono_[static_cast<size_t>(i)];
    }
    const double denominator = std::sqrt(cont_energy * new_energy);
    const double c = denominator > 0.0 ? cross / denominator : 0.0;
    if (c > best) {
      best = c;
      best_offset = s;
    }
  }

  const int s = best_offset;
  for (int i = 0; i < s; ++i) {
    for (int c = 0; c < channels_; ++c) put(i, c, cont(i, c));
  }
  for (int i = 0; i < n; ++i) {
    const double w = i < overlap ? RaisedCosine(i, overlap) : 1.0;
    for (int c = 0; c < channels_; ++c) {
      const double v = i < overlap ? (1.0 - w) * cont(s + i, c) + w * fresh(i, c) : fresh(i, c);
      put(s + i, c, v);
    }
  }
  result.frames_written = n + s;
  result.inserted_frames = s;
  result.correlation = best;
  return result;
}

}  // namespace parley::playout
