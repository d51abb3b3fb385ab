#include "parley/audio/audio_frame.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <type_traits>

namespace parley::audio {
namespace {

constexpr float kInt16Scale = 32768.0f;

void CheckSameSize(size_t in, size_t out, const char* what) {
  if (in != out) {
    throw std::invalid_argument(fmt::format("{}: input has {} samples, output {}", what, in, out));
  }
}

void CheckChannels(int channels, const char* what) {
  if (channels <= 0) {
    throw std::invalid_argument(fmt::format("{}: channels {} <= 0", what, channels));
  }
}

// Rounded to nearest, half away from zero; the mean of int16 values always fits.
int16_t Average(int32_t sum, int count) {
  return static_cast<int16_t>(std::lround(static_cast<double>(sum) / count));
}
float Average(float sum, int count) { return sum / static_cast<float>(count); }

template <typename T>
using Accumulator = std::conditional_t<std::is_same_v<T, int16_t>, int32_t, float>;

// The rule documented in the header, for any M -> N.
template <typename T>
void Remix(std::span<const T> in, int in_channels, std::span<T> out, int out_channels) {
  const size_t frames = in.size() / static_cast<size_t>(in_channels);
  if (out_channels >= in_channels) {
    for (size_t f = 0; f < frames; ++f) {
      const T* src = &in[f * in_channels];
      T* dst = &out[f * out_channels];
      for (int o = 0; o < out_channels; ++o) dst[o] = src[o % in_channels];
    }
    return;
  }
  for (size_t f = 0; f < frames; ++f) {
    const T* src = &in[f * in_channels];
    T* dst = &out[f * out_channels];
    for (int o = 0; o < out_channels; ++o) {
      Accumulator<T> sum = 0;
      int count = 0;
      for (int c = o; c < in_channels; c += out_channels) {
        sum += src[c];
        ++count;
      }
      dst[o] = Average(sum, count);
    }
  }
}

template <typename T>
BasicAudioFrame<T> RemixFrame(const BasicAudioFrame<T>& frame, int out_channels) {
  CheckChannels(out_channels, "RemixChannels");
  std::vector<T> out(static_cast<size_t>(frame.frames()) * out_channels);
  Remix<T>(frame.samples(), frame.channels(), out, out_channels);
  return BasicAudioFrame<T>({frame.sample_rate_hz(), out_channels}, std::move(out));
}

template <typename T>
void Downmix(std::span<const T> interleaved, int channels, std::span<T> mono) {
  CheckChannels(channels, "DownmixToMono");
  CheckSameSize(interleaved.size(), mono.size() * channels, "DownmixToMono");
  Remix<T>(interleaved, channels, mono, 1);
}

template <typename T>
void Upmix(std::span<const T> mono, int channels, std::span<T> interleaved) {
  CheckChannels(channels, "UpmixFromMono");
  CheckSameSize(mono.size() * channels, interleaved.size(), "UpmixFromMono");
  Remix<T>(mono, 1, interleaved, channels);
}

}  // namespace

void ValidateFormat(const AudioFormat& format) {
  if (format.sample_rate_hz <= 0 || format.channels <= 0) {
    throw std::invalid_argument(fmt::format("audio format {} Hz, {} channels: both must be > 0",
                                            format.sample_rate_hz, format.channels));
  }
}

template <typename T>
BasicAudioFrame<T>::BasicAudioFrame(AudioFormat format, std::vector<T> samples)
    : format_(format), samples_(std::move(samples)) {
  ValidateFormat(format_);
  if (samples_.size() % static_cast<size_t>(format_.channels) != 0) {
    throw std::invalid_argument(
        fmt::format("audio frame: {} samples is not a multiple of {} channels", samples_.size(),
                    format_.channels));
  }
}

template <typename T>
BasicAudioFrame<T>::BasicAudioFrame(AudioFormat format, int64_t frames) : format_(format) {
  ValidateFormat(format_);
  if (frames < 0) throw std::invalid_argument(fmt::format("audio frame: {} frames < 0", frames));
  samples_.assign(static_cast<size_t>(frames) * format_.channels, T{});
}

template <typename T>
std::chrono::duration<double, std::milli> BasicAudioFrame<T>::duration_ms() const {
  return std::chrono::duration<double, std::milli>(1000.0 * static_cast<double>(frames()) /
                                                   format_.sample_rate_hz);
}

template class BasicAudioFrame<int16_t>;
template class BasicAudioFrame<float>;

void ToFloat(std::span<const int16_t> in, std::span<float> out) {
  CheckSameSize(in.size(), out.size(), "ToFloat");
  for (size_t i = 0; i < in.size(); ++i) out[i] = static_cast<float>(in[i]) / kInt16Scale;
}

void ToInt16(std::span<const float> in, std::span<int16_t> out) {
  CheckSameSize(in.size(), out.size(), "ToInt16");
  for (size_t i = 0; i < in.size(); ++i) {
    // Clamp before converting: out-of-range float -> int conversion is undefined.
    const float scaled = std::clamp(in[i] * kInt16Scale, -32768.0f, 32767.0f);
    out[i] = std::isnan(scaled) ? 0 : static_cast<int16_t>(std::lrintf(scaled));
  }
}

AudioFrameFloat ToFloat(const AudioFrame& frame) {
  std::vector<float> out(frame.samples().size());
  ToFloat(frame.samples(), out);
  return AudioFrameFloat(frame.format(), std::move(out));
}

AudioFrame ToInt16(const AudioFrameFloat& frame) {
  std::vector<int16_t> out(frame.samples().size());
  ToInt16(frame.samples(), out);
  return AudioFrame(frame.format(), std::move(out));
}

AudioFrame RemixChannels(const AudioFrame& frame, int out_channels) {
  return RemixFrame(frame, out_channels);
}
AudioFrameFloat RemixChannels(const AudioFrameFloat& frame, int out_channels) {
  return RemixFrame(frame, out_channels);
}

void DownmixToMono(std::span<const int16_t> interleaved, int channels, std::span<int16_t> mono) {
  Downmix(interleaved, channels, mono);
}
void DownmixToMono(std::span<const float> interleaved, int channels, std::span<float> mono) {
  Downmix(interleaved, channels, mono);
}
void UpmixFromMono(std::span<const int16_t> mono, int channels, std::span<int16_t> interleaved) {
  Upmix(mono, channels, interleaved);
}
void UpmixFromMono(std::span<const float> mono, int channels, std::span<float> interleaved) {
  Upmix(mono, channels, interleaved);
}

}  // namespace parley::audio
