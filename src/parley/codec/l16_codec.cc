#include "parley/codec/l16_codec.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>

#include "parley/codec/config_check.h"
#include "parley/codec/registry.h"

namespace parley::codec {
namespace {

constexpr std::array<int, 6> kSampleRatesHz = {8000, 16000, 24000, 32000, 44100, 48000};
constexpr int kBytesPerSample = 2;
constexpr int kBitsPerSample = 16;

const CodecInfo& Info() { return GetCodecInfo(CodecId::kL16); }

Status CheckRate(int sample_rate_hz) {
  if (sample_rate_hz != 0 && !IsL16SampleRate(sample_rate_hz)) {
    return Error{fmt::format("L16: sample_rate_hz {} not supported (0 = {}, or {})", sample_rate_hz,
                             Info().sample_rate_hz, fmt::join(kSampleRatesHz, ", "))};
  }
  return Status::Ok();
}

int ResolveRate(int sample_rate_hz) {
  return sample_rate_hz == 0 ? Info().sample_rate_hz : sample_rate_hz;
}

class L16Encoder final : public AudioEncoder {
 public:
  L16Encoder(int sample_rate_hz, int channels, int frame_ms)
      : sample_rate_hz_(sample_rate_hz), channels_(channels), frame_ms_(frame_ms) {}

  const CodecInfo& info() const override { return Info(); }
  int sample_rate_hz() const override { return sample_rate_hz_; }
  int channels() const override { return channels_; }
  int frame_ms() const override { return frame_ms_; }
  int bitrate_bps() const override { return sample_rate_hz_ * channels_ * kBitsPerSample; }
  size_t max_payload_bytes() const override {
    return static_cast<size_t>(frame_samples() * channels_ * kBytesPerSample);
  }

  Result<size_t> Encode(std::span<const int16_t> pcm, std::span<uint8_t> out) override {
    const size_t samples = static_cast<size_t>(frame_samples() * channels_);
    if (Status s = CheckEncodeBuffers(Info(), frame_ms_, channels_, pcm.size(), samples, out.size(),
                                      max_payload_bytes());
        !s) {
      return s.error();
    }
    for (size_t i = 0; i < samples; ++i) {
      const auto u = static_cast<uint16_t>(pcm[i]);
      out[2 * i] = static_cast<uint8_t>(u >> 8);
      out[2 * i + 1] = static_cast<uint8_t>(u & 0xff);
    }
    return samples * kBytesPerSample;
  }

  Status SetFrameMs(int frame_ms) override {
    if (Status s = CheckFrameMs(Info(), frame_ms); !s) return s;
    frame_ms_ = frame_ms;
    return Status::Ok();
  }

  Status SetBitrate(int bitrate_bps) override {
    if (bitrate_bps != 0 && bitrate_bps != this->bitrate_bps()) {
      return Error{fmt::format("L16: bitrate_bps {} not supported (0 or {} = rate x channels x 16)",
                               bitrate_bps, this->bitrate_bps())};
    }
    return Status::Ok();
  }

 private:
  const int sample_rate_hz_;
  const int channels_;
  int frame_ms_;
};

class L16Decoder final : public AudioDecoder {
 public:
  L16Decoder(int sample_rate_hz, int channels)
      : sample_rate_hz_(sample_rate_hz), channels_(channels) {}

  const CodecInfo& info() const override { return Info(); }
  int sample_rate_hz() const override { return sample_rate_hz_; }
  int channels() const override { return channels_; }

  Result<int> PacketSamples(std::span<const uint8_t> payload) const override {
    const size_t frame_bytes = static_cast<size_t>(kBytesPerSample * channels_);
    if (payload.empty()) return Error{"L16: empty payload"};
    if (payload.size() % frame_bytes != 0) {
      return Error{
          fmt::format("L16: payload {} bytes is not a multiple of {} ({} channel{} x 2 "
                      "bytes)",
                      payload.size(), frame_bytes, channels_, channels_ == 1 ? "" : "s")};
    }
    return static_cast<int>(payload.size() / frame_bytes);
  }

  Result<int> Decode(std::span<const uint8_t> payload, std::span<int16_t> out) override {
    Result<int> frames = PacketSamples(payload);
    if (!frames) return frames;
    const size_t samples = payload.size() / kBytesPerSample;
    if (Status s = CheckOutputBuffer(Info(), out.size(), samples); !s) return s.error();
    for (size_t i = 0; i < samples; ++i) {
      out[i] =
          static_cast<int16_t>(static_cast<uint16_t>((payload[2 * i] << 8) | payload[2 * i + 1]));
    }
    return frames;
  }

  void Reset() override {}

 private:
  const int sample_rate_hz_;
  const int channels_;
};

}  // namespace

bool IsL16SampleRate(int sample_rate_hz) {
  return std::find(kSampleRatesHz.begin(), kSampleRatesHz.end(), sample_rate_hz) !=
         kSampleRatesHz.end();
}

Result<std::unique_ptr<AudioEncoder>> CreateL16Encoder(const EncoderConfig& config) {
  if (Status s = CheckRate(config.sample_rate_hz); !s) return s.error();
  if (Status s = CheckChannels(Info(), config.channels); !s) return s.error();
  const int frame_ms = config.frame_ms == 0 ? Info().default_frame_ms : config.frame_ms;
  if (Status s = CheckFrameMs(Info(), frame_ms); !s) return s.error();
  auto encoder =
      std::make_unique<L16Encoder>(ResolveRate(config.sample_rate_hz), config.channels, frame_ms);
  if (Status s = encoder->SetBitrate(config.bitrate_bps); !s) return s.error();
  return std::unique_ptr<AudioEncoder>(std::move(encoder));
}

Result<std::unique_ptr<AudioDecoder>> CreateL16Decoder(const DecoderConfig& config) {
  if (Status s = CheckRate(config.sample_rate_hz); !s) return s.error();
  if (Status s = CheckChannels(Info(), config.channels); !s) return s.error();
  return std::unique_ptr<AudioDecoder>(
      std::make_unique<L16Decoder>(ResolveRate(config.sample_rate_hz), config.channels));
}

}  // namespace parley::codec
