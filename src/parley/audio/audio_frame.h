// Audio frames (interleaved samples plus their format), sample conversions and channel
// mixing: the value type every later layer passes audio in.
//
// Samples are interleaved: for stereo, L0 R0 L1 R1 ... A "frame" in counts (frames(),
// *_frames) is one sample per channel, as in libsndfile and ALSA.
//
// Misuse (a sample count that is not a multiple of the channel count, a non-positive
// rate or channel count, spans of mismatched size) throws std::invalid_argument: those
// are programming errors, not bad input. Nothing here allocates except where a new
// frame is returned.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace parley::audio {

struct AudioFormat {
  int sample_rate_hz = 48000;  // > 0
  int channels = 1;            // > 0

  friend bool operator==(const AudioFormat&, const AudioFormat&) = default;
};

// Throws std::invalid_argument unless rate and channels are positive.
void ValidateFormat(const AudioFormat& format);

// Interleaved samples of type T with their format. T is int16_t (AudioFrame) or float
// in [-1, 1] (AudioFrameFloat). A value type: copying copies the samples.
template <typename T>
class BasicAudioFrame {
 public:
  BasicAudioFrame() = default;
  // samples.size() must be a multiple of format.channels.
  BasicAudioFrame(AudioFormat format, std::vector<T> samples);
  // `frames` frames of silence.
  BasicAudioFrame(AudioFormat format, int64_t frames);

  const AudioFormat& format() const { return format_; }
  int sample_rate_hz() const { return format_.sample_rate_hz; }
  int channels() const { return format_.channels; }
  // Samples per channel.
  int64_t frames() const { return static_cast<int64_t>(samples_.size()) / format_.channels; }
  bool empty() const { return samples_.empty(); }
  // frames() / sample_rate_hz(), in milliseconds (fractional: 441 frames at 44.1 kHz
  // are exactly 10 ms, 1 frame at 48 kHz is 0.0208 ms).
  std::chrono::duration<double, std::milli> duration_ms() const;

  // All samples, interleaved; size frames() * channels().
  std::span<const T> samples() const { return samples_; }
  std::span<T> mutable_samples() { return samples_; }
  // Moves the samples out, leaving the frame empty.
  std::vector<T> TakeSamples() && { return std::move(samples_); }

 private:
  AudioFormat format_;
  std::vector<T> samples_;
};

extern template class BasicAudioFrame<int16_t>;
extern template class BasicAudioFrame<float>;
using AudioFrame = BasicAudioFrame<int16_t>;
using AudioFrameFloat = BasicAudioFrame<float>;

// int16 -> float: x / 32768, so -32768 maps to -1.0 and 32767 to 0.99997.
// in.size() must equal out.size().
void ToFloat(std::span<const int16_t> in, std::span<float> out);
// float -> int16: x * 32768 rounded to nearest (ties to even), saturated to
// [-32768, 32767]; NaN becomes 0.
// Exact inverse of ToFloat for every int16 value. in.size() must equal out.size().
void ToInt16(std::span<const float> in, std::span<int16_t> out);
AudioFrameFloat ToFloat(const AudioFrame& frame);
AudioFrame ToInt16(const AudioFrameFloat& frame);

// Channel remixing, one rule for every channel count: with M input and N output
// channels,
//   - N < M: output channel o is the average of the input channels c with c % N == o
//     (stereo -> mono averages L and R; 4 -> 2 folds channels 0,2 into L and 1,3 into R);
//   - N > M: output channel o copies input channel o % M (mono -> N duplicates;
//     stereo -> 4 gives L R L R);
//   - N == M: a copy.
// Averages are rounded to nearest (int16) so a mono signal duplicated and averaged back
// is unchanged; averaging never clips.
AudioFrame RemixChannels(const AudioFrame& frame, int out_channels);
AudioFrameFloat RemixChannels(const AudioFrameFloat& frame, int out_channels);

// Span versions for the 10 ms hot path (no allocation). `interleaved` holds
// frames * channels samples; `mono` holds frames samples.
void DownmixToMono(std::span<const int16_t> interleaved, int channels, std::span<int16_t> mono);
void DownmixToMono(std::span<const float> interleaved, int channels, std::span<float> mono);
void UpmixFromMono(std::span<const int16_t> mono, int channels, std::span<int16_t> interleaved);
void UpmixFromMono(std::span<const float> mono, int channels, std::span<float> interleaved);

}  // namespace parley::audio
