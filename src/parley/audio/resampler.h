// Sample-rate conversion with the speexdsp resampler (windowed-sinc polyphase filter).
//
// Rates: 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000 and 96000 Hz, in
// any pair (12 kHz for Opus; 11.025/22.05/96 kHz because files come in them). Equal
// rates are an exact copy with no delay.
//
// Quality and latency (speex quality 0..10; measured, see resampler_test.cc):
// kDefaultQuality = 5 (speex "desktop"): passband flat within 0.01 dB to 0.85 of the
// lower Nyquist frequency (3.4 kHz at 8 kHz), -1.9 dB at 0.9; stopband >= 100 dB from
// 1.1 x Nyquist (more than int16 holds). A 1 kHz tone at 48 kHz survives 48->8->48 kHz at
// 87 dB SNR in int16 (105 dB in float); a 6 kHz tone comes out of 48->8 kHz 49 dB down
// over the whole signal, the onset click included, and below one LSB once steady.
// Latency is 40 samples at the lower rate of the pair (5 ms at 8 kHz, 2.5 ms at 16 kHz,
// 0.83 ms at 48 kHz) plus rounding; input_latency_samples() and output_latency_samples()
// give the exact figure for an instance. Quality 3 ("voip") cuts the delay to 24 samples
// (3 ms at 8 kHz) at the cost of -1 dB at 0.85 x Nyquist and ~88 dB of stopband; quality
// 10 is flat to 0.9 x Nyquist with a 128-sample (16 ms at 8 kHz) delay.
//
// Threading: a Resampler is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "parley/audio/audio_frame.h"
#include "parley/base/result.h"

struct SpeexResamplerState_;

namespace parley::audio {

class Resampler {
 public:
  static constexpr int kDefaultQuality = 5;
  static constexpr int kMinQuality = 0;
  static constexpr int kMaxQuality = 10;
  static constexpr int kMaxChannels = 8;

  // Where output sample 0 lies in time.
  enum class Alignment {
    // Real time: output is the input delayed by output_latency_samples().
    kDelayed,
    // Output sample k is input time k * in_rate / out_rate exactly: the filter delay is
    // dropped from the start, so output begins only once input_latency_samples() frames
    // have been given. For offline conversion.
    kAligned,
  };

  // Error if a rate is not supported, channels is outside 1..kMaxChannels or quality
  // outside kMinQuality..kMaxQuality.
  [[nodiscard]] static Result<std::unique_ptr<Resampler>> Create(
      int in_rate_hz, int out_rate_hz, int channels, int quality = kDefaultQuality,
      Alignment alignment = Alignment::kDelayed);
  static bool IsSupportedRate(int rate_hz);
  // Every supported rate, ascending.
  static std::span<const int> SupportedRatesHz();

  ~Resampler();
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;

  // Resamples interleaved `in` (a whole number of frames) and appends every output frame
  // it yields to `out`; all input is consumed. Reuse `out` (clear() keeps its capacity)
  // and nothing is allocated in steady state. Float samples are in [-1, 1]; int16 output
  // saturates. Throws std::invalid_argument if in.size() is not a multiple of channels().
  void Process(std::span<const int16_t> in, std::vector<int16_t>& out);
  void Process(std::span<const float> in, std::vector<float>& out);

  // Ends the stream: appends the output still held in the filter, so that the whole
  // stream's output is exactly round(input frames * out_rate / in_rate) frames, plus
  // output_latency_samples() leading frames in kDelayed mode. Then Reset()s.
  void Flush(std::vector<int16_t>& out);
  void Flush(std::vector<float>& out);

  // Forgets all history and starts a new stream (as after Create()).
  void Reset();

  // Filter delay in frames at the input rate (0 for equal rates).
  int input_latency_samples() const;
  // The same delay in frames at the output rate, rounded to nearest.
  int output_latency_samples() const;
  std::chrono::duration<double, std::milli> latency_ms() const;

  int in_rate_hz() const { return in_rate_hz_; }
  int out_rate_hz() const { return out_rate_hz_; }
  int channels() const { return channels_; }
  int quality() const { return quality_; }
  Alignment alignment() const { return alignment_; }

 private:
  Resampler(int in_rate_hz, int out_rate_hz, int channels, int quality, Alignment alignment,
            SpeexResamplerState_* state);
  template <typename T>
  void ProcessImpl(std::span<const T> in, std::vector<T>& out);
  template <typename T>
  void FlushImpl(std::vector<T>& out);

  // Passed by argument.
  const int in_rate_hz_;
  const int out_rate_hz_;
  const int channels_;
  const int quality_;
  const Alignment alignment_;
  // Allocated by this; null when the rates are equal (pass-through).
  SpeexResamplerState_* const state_;
  // Frames given to / produced by this stream since the last Reset(), so Flush() can
  // emit exactly the right number.
  int64_t in_frames_ = 0;
  int64_t out_frames_ = 0;
};

// Converts a whole buffer: output is time-aligned with the input (output sample k is
// input time k * in_rate / out_rate, no leading delay, no missing tail) and has
// round(frames * out_rate / in_rate) frames. Equal rates return a copy.
// Throws std::invalid_argument for an unsupported rate or quality (check
// Resampler::IsSupportedRate() for rates from outside).
AudioFrame Resample(const AudioFrame& in, int out_rate_hz,
                    int quality = Resampler::kDefaultQuality);
AudioFrameFloat Resample(const AudioFrameFloat& in, int out_rate_hz,
                         int quality = Resampler::kDefaultQuality);

}  // namespace parley::audio
