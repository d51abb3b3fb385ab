#include "parley/audio/resampler.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <speex/speex_resampler.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace parley::audio {
namespace {

constexpr std::array kSupportedRatesHz = {8000,  11025, 12000, 16000, 22050,
                                          24000, 32000, 44100, 48000, 96000};

// Zeros fed per speex call while flushing, in frames.
constexpr int kFlushChunkFrames = 256;

// Output frames speex may produce for `in_frames` more input: the exact ratio rounded up,
// plus one for the fractional phase.
int64_t OutputBound(int64_t in_frames, int in_rate_hz, int out_rate_hz) {
  return (in_frames * out_rate_hz + in_rate_hz - 1) / in_rate_hz + 1;
}

int SpeexProcess(SpeexResamplerState* st, const int16_t* in, spx_uint32_t* in_frames, int16_t* out,
                 spx_uint32_t* out_frames) {
  return speex_resampler_process_interleaved_int(st, in, in_frames, out, out_frames);
}
int SpeexProcess(SpeexResamplerState* st, const float* in, spx_uint32_t* in_frames, float* out,
                 spx_uint32_t* out_frames) {
  return speex_resampler_process_interleaved_float(st, in, in_frames, out, out_frames);
}

}  // namespace

std::span<const int> Resampler::SupportedRatesHz() { return kSupportedRatesHz; }

bool Resampler::IsSupportedRate(int rate_hz) {
  return std::find(kSupportedRatesHz.begin(), kSupportedRatesHz.end(), rate_hz) !=
         kSupportedRatesHz.end();
}

Result<std::unique_ptr<Resampler>> Resampler::Create(int in_rate_hz, int out_rate_hz, int channels,
                                                     int quality, Alignment alignment) {
  for (int rate : {in_rate_hz, out_rate_hz}) {
    if (!IsSupportedRate(rate)) {
      return Error{fmt::format("resampler: unsupported sample rate {} Hz (supported: {})", rate,
                               fmt::join(kSupportedRatesHz, ", "))};
    }
  }
  if (channels < 1 || channels > kMaxChannels) {
    return Error{fmt::format("resampler: {} channels outside 1..{}", channels, kMaxChannels)};
  }
  if (quality < kMinQuality || quality > kMaxQuality) {
    return Error{
        fmt::format("resampler: quality {} outside {}..{}", quality, kMinQuality, kMaxQuality)};
  }
  SpeexResamplerState* state = nullptr;
  if (in_rate_hz != out_rate_hz) {
    int err = RESAMPLER_ERR_SUCCESS;
    state = speex_resampler_init(static_cast<spx_uint32_t>(channels),
                                 static_cast<spx_uint32_t>(in_rate_hz),
                                 static_cast<spx_uint32_t>(out_rate_hz), quality, &err);
    if (state == nullptr || err != RESAMPLER_ERR_SUCCESS) {
      if (state != nullptr) speex_resampler_destroy(state);
      return Error{fmt::format("resampler: speex_resampler_init({} -> {} Hz): {}", in_rate_hz,
                               out_rate_hz, speex_resampler_strerror(err))};
    }
  }
  std::unique_ptr<Resampler> resampler(
      new Resampler(in_rate_hz, out_rate_hz, channels, quality, alignment, state));
  resampler->Reset();
  return resampler;
}

Resampler::Resampler(int in_rate_hz, int out_rate_hz, int channels, int quality,
                     Alignment alignment, SpeexResamplerState_* state)
    : in_rate_hz_(in_rate_hz),
      out_rate_hz_(out_rate_hz),
      channels_(channels),
      quality_(quality),
      alignment_(alignment),
      state_(state) {}

Resampler::~Resampler() {
  if (state_ != nullptr) speex_resampler_destroy(state_);
}

void Resampler::Reset() {
  in_frames_ = 0;
  out_frames_ = 0;
  if (state_ == nullptr) return;
  speex_resampler_reset_mem(state_);
  // Starts the filter half a filter length into the input, which is what removes the
  // delay: output sample 0 is then centred on input sample 0.
  if (alignment_ == Alignment::kAligned) speex_resampler_skip_zeros(state_);
}

int Resampler::input_latency_samples() const {
  return state_ == nullptr ? 0 : speex_resampler_get_input_latency(state_);
}

int Resampler::output_latency_samples() const {
  return state_ == nullptr ? 0 : speex_resampler_get_output_latency(state_);
}

std::chrono::duration<double, std::milli> Resampler::latency_ms() const {
  return std::chrono::duration<double, std::milli>(1000.0 * input_latency_samples() / in_rate_hz_);
}

template <typename T>
void Resampler::ProcessImpl(std::span<const T> in, std::vector<T>& out) {
  if (in.size() % static_cast<size_t>(channels_) != 0) {
    throw std::invalid_argument(fmt::format(
        "Resampler::Process: {} samples is not a multiple of {} channels", in.size(), channels_));
  }
  const int64_t in_frames = static_cast<int64_t>(in.size()) / channels_;
  in_frames_ += in_frames;
  if (state_ == nullptr) {
    out.insert(out.end(), in.begin(), in.end());
    out_frames_ += in_frames;
    return;
  }
  size_t used = out.size();
  int64_t in_done = 0;
  while (in_done < in_frames) {
    const int64_t remaining = in_frames - in_done;
    const size_t capacity_frames =
        static_cast<size_t>(OutputBound(remaining, in_rate_hz_, out_rate_hz_));
    out.resize(used + capacity_frames * channels_);
    // speex counts in frames (per channel) and updates both counts to what it used.
    auto in_len = static_cast<spx_uint32_t>(std::min<int64_t>(remaining, UINT32_MAX / 2));
    auto out_len = static_cast<spx_uint32_t>(capacity_frames);
    SpeexProcess(state_, in.data() + in_done * channels_, &in_len, out.data() + used, &out_len);
    in_done += in_len;
    used += static_cast<size_t>(out_len) * channels_;
    out_frames_ += out_len;
    if (in_len == 0 && out_len == 0) break;  // cannot happen with room in `out`; never spin
  }
  out.resize(used);
}

template <typename T>
void Resampler::FlushImpl(std::vector<T>& out) {
  if (in_frames_ == 0) {  // an empty stream stays empty, with no latency padding
    Reset();
    return;
  }
  const int64_t lead = alignment_ == Alignment::kAligned ? 0 : output_latency_samples();
  const int64_t target =
      lead + (in_frames_ * out_rate_hz_ + in_rate_hz_ / 2) / in_rate_hz_;  // rounded
  const size_t start = out.size();
  const int64_t out_before = out_frames_;
  if (state_ != nullptr) {
    const std::vector<T> zeros(static_cast<size_t>(kFlushChunkFrames) * channels_);
    // The tail needs input_latency_samples() of zeros; a few more chunks cover rounding.
    const int64_t max_zero_frames = input_latency_samples() + 4 * kFlushChunkFrames;
    for (int64_t pushed = 0; out_frames_ < target && pushed < max_zero_frames;
         pushed += kFlushChunkFrames) {
      const int64_t in_before = in_frames_;
      ProcessImpl<T>(zeros, out);
      in_frames_ = in_before;  // padding is not stream input
    }
  }
  // Trim output that only the padding produced (or pad if the filter fell short).
  const int64_t wanted = std::max<int64_t>(0, target - out_before);
  out.resize(start + static_cast<size_t>(wanted) * channels_, T{});
  Reset();
}

void Resampler::Process(std::span<const int16_t> in, std::vector<int16_t>& out) {
  ProcessImpl(in, out);
}
void Resampler::Process(std::span<const float> in, std::vector<float>& out) {
  ProcessImpl(in, out);
}
void Resampler::Flush(std::vector<int16_t>& out) { FlushImpl(out); }
void Resampler::Flush(std::vector<float>& out) { FlushImpl(out); }

namespace {

template <typename T>
BasicAudioFrame<T> ResampleFrame(const BasicAudioFrame<T>& in, int out_rate_hz, int quality) {
  auto resampler = Resampler::Create(in.sample_rate_hz(), out_rate_hz, in.channels(), quality,
                                     Resampler::Alignment::kAligned);
  if (!resampler.ok()) throw std::invalid_argument(resampler.error().message);
  std::vector<T> out;
  out.reserve(static_cast<size_t>(OutputBound(in.frames(), in.sample_rate_hz(), out_rate_hz)) *
              in.channels());
  (*resampler)->Process(in.samples(), out);
  (*resampler)->Flush(out);
  return BasicAudioFrame<T>({out_rate_hz, in.channels()}, std::move(out));
}

}  // namespace

AudioFrame Resample(const AudioFrame& in, int out_rate_hz, int quality) {
  return ResampleFrame(in, out_rate_hz, quality);
}
AudioFrameFloat Resample(const AudioFrameFloat& in, int out_rate_hz, int quality) {
  return ResampleFrame(in, out_rate_hz, quality);
}

}  // namespace parley::audio
