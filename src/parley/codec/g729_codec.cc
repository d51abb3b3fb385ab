#include "parley/codec/g729_codec.h"

#include <fmt/format.h>

// bcg729's headers declare C functions without extern "C" guards.
extern "C" {
#include <bcg729/decoder.h>
#include <bcg729/encoder.h>
}

#include <algorithm>
#include <array>

#include "parley/codec/config_check.h"
#include "parley/codec/fixed_rate_codec.h"
#include "parley/codec/registry.h"

namespace parley::codec {
namespace {

constexpr int kFrameMs = 10;
constexpr int kFrameSamples = 80;
constexpr size_t kVoiceFrameBytes = 10;
constexpr size_t kSidFrameBytes = 2;  // G.729 Annex B comfort noise update

const CodecInfo& Info() { return GetCodecInfo(CodecId::kG729); }

struct EncoderDeleter {
  void operator()(bcg729EncoderChannelContextStruct* s) const { closeBcg729EncoderChannel(s); }
};
struct DecoderDeleter {
  void operator()(bcg729DecoderChannelContextStruct* s) const { closeBcg729DecoderChannel(s); }
};
using EncoderState = std::unique_ptr<bcg729EncoderChannelContextStruct, EncoderDeleter>;
using DecoderState = std::unique_ptr<bcg729DecoderChannelContextStruct, DecoderDeleter>;

class G729Encoder final : public FixedRateEncoder {
 public:
  G729Encoder(EncoderState state, int frame_ms)
      : FixedRateEncoder(Info(), frame_ms), state_(std::move(state)) {}

  size_t max_payload_bytes() const override {
    return static_cast<size_t>(frame_ms() / kFrameMs) * kVoiceFrameBytes;
  }

  // With DTX: voice frames in order, then at most one SID (RFC 3551 4.5.6); a SID that is
  // followed by voice in the same packet is dropped, since the voice supersedes it.
  Result<size_t> Encode(std::span<const int16_t> pcm, std::span<uint8_t> out) override {
    if (Status s = CheckEncodeInput(pcm, out); !s) return s.error();
    const int frames = frame_ms() / kFrameMs;
    size_t written = 0;
    bool ends_with_sid = false;
    for (int f = 0; f < frames; ++f) {
      uint8_t length = 0;
      bcg729Encoder(state_.get(), pcm.data() + f * kFrameSamples, frame_.data(), &length);
      if (length == 0) continue;  // DTX: nothing to send for this frame
      if (ends_with_sid) {
        written -= kSidFrameBytes;
        ends_with_sid = false;
      }
      std::copy_n(frame_.begin(), length, out.begin() + static_cast<std::ptrdiff_t>(written));
      written += length;
      ends_with_sid = length == kSidFrameBytes;
    }
    return written;
  }

 private:
  // Allocated by this.
  EncoderState state_;
  std::array<uint8_t, kVoiceFrameBytes> frame_{};
};

class G729Decoder final : public FixedRateDecoder {
 public:
  explicit G729Decoder(DecoderState state) : FixedRateDecoder(Info()), state_(std::move(state)) {}

  Result<int> PacketSamples(std::span<const uint8_t> payload) const override {
    if (payload.empty()) return Error{"G729: empty payload"};
    const size_t remainder = payload.size() % kVoiceFrameBytes;
    if (remainder != 0 && remainder != kSidFrameBytes) {
      return Error{
          fmt::format("G729: payload {} bytes is not n x {}-byte frames plus an "
                      "optional {}-byte SID",
                      payload.size(), kVoiceFrameBytes, kSidFrameBytes)};
    }
    const size_t frames = payload.size() / kVoiceFrameBytes + (remainder != 0 ? 1 : 0);
    return static_cast<int>(frames) * kFrameSamples;
  }

  Result<int> Decode(std::span<const uint8_t> payload, std::span<int16_t> out) override {
    Result<int> samples = CheckDecodeInput(payload, out);
    if (!samples) return samples;
    const size_t voice_frames = payload.size() / kVoiceFrameBytes;
    int16_t* pcm = out.data();
    for (size_t f = 0; f < voice_frames; ++f, pcm += kFrameSamples) {
      bcg729Decoder(state_.get(), payload.data() + f * kVoiceFrameBytes, kVoiceFrameBytes,
                    /*frameErasureFlag=*/0, /*SIDFrameFlag=*/0, /*rfc3389PayloadFlag=*/0, pcm);
    }
    if (payload.size() % kVoiceFrameBytes == kSidFrameBytes) {
      bcg729Decoder(state_.get(), payload.data() + voice_frames * kVoiceFrameBytes, kSidFrameBytes,
                    0, /*SIDFrameFlag=*/1, 0, pcm);
    }
    return samples;
  }

  bool has_plc() const override { return true; }

  // G.729 frame erasure concealment (Annex B: comfort noise when the last frame was a
  // SID), run in whole 10 ms frames; the tail of the last frame is discarded.
  Result<int> Conceal(int samples_per_channel, std::span<int16_t> out) override {
    if (Status s = CheckConcealInput(samples_per_channel, out); !s) return s.error();
    int done = 0;
    while (done < samples_per_channel) {
      const int n = std::min(kFrameSamples, samples_per_channel - done);
      int16_t* target = n == kFrameSamples ? out.data() + done : scratch_.data();
      bcg729Decoder(state_.get(), nullptr, 0, /*frameErasureFlag=*/1, 0, 0, target);
      if (n < kFrameSamples) std::copy_n(scratch_.begin(), n, out.begin() + done);
      done += n;
    }
    return samples_per_channel;
  }

  void Reset() override {
    // bcg729 has no reset; a fresh context is the only clean one (allocates, off the packet
    // path).
    if (DecoderState fresh(initBcg729DecoderChannel()); fresh) state_ = std::move(fresh);
  }

 private:
  // Allocated by this.
  DecoderState state_;
  std::array<int16_t, kFrameSamples> scratch_{};
};

}  // namespace

Result<std::unique_ptr<AudioEncoder>> CreateG729Encoder(const EncoderConfig& config) {
  Result<int> frame_ms = CheckFixedRateEncoderConfig(Info(), config);
  if (!frame_ms) return frame_ms.error();
  EncoderState state(initBcg729EncoderChannel(config.dtx ? 1 : 0));
  if (!state) return Error{"G729: bcg729 could not create an encoder"};
  return std::unique_ptr<AudioEncoder>(std::make_unique<G729Encoder>(std::move(state), *frame_ms));
}

Result<std::unique_ptr<AudioDecoder>> CreateG729Decoder(const DecoderConfig& config) {
  if (Status s = CheckFixedRateDecoderConfig(Info(), config); !s) return s.error();
  DecoderState state(initBcg729DecoderChannel());
  if (!state) return Error{"G729: bcg729 could not create a decoder"};
  return std::unique_ptr<AudioDecoder>(std::make_unique<G729Decoder>(std::move(state)));
}

}  // namespace parley::codec
