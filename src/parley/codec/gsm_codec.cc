#include "parley/codec/gsm_codec.h"

#include <fmt/format.h>
#include <gsm.h>

#include <algorithm>
#include <array>

#include "parley/codec/config_check.h"
#include "parley/codec/fixed_rate_codec.h"
#include "parley/codec/registry.h"

namespace parley::codec {
namespace {

constexpr int kFrameMs = 20;
constexpr int kFrameSamples = 160;
constexpr size_t kFrameBytes = sizeof(gsm_frame);  // 33
// The top nibble of every GSM 06.10 frame (GSM_MAGIC in libgsm).
constexpr uint8_t kFrameSignature = 0xD;
static_assert(kFrameBytes == 33);

const CodecInfo& Info() { return GetCodecInfo(CodecId::kGsm); }

struct GsmDeleter {
  void operator()(gsm_state* s) const { gsm_destroy(s); }
};
using GsmState = std::unique_ptr<gsm_state, GsmDeleter>;

class GsmEncoder final : public FixedRateEncoder {
 public:
  GsmEncoder(GsmState state, int frame_ms)
      : FixedRateEncoder(Info(), frame_ms), state_(std::move(state)) {}

  size_t max_payload_bytes() const override {
    return static_cast<size_t>(frame_ms() / kFrameMs) * kFrameBytes;
  }

  Result<size_t> Encode(std::span<const int16_t> pcm, std::span<uint8_t> out) override {
    if (Status s = CheckEncodeInput(pcm, out); !s) return s.error();
    const int frames = frame_ms() / kFrameMs;
    for (int f = 0; f < frames; ++f) {
      // gsm_encode() takes a non-const pointer; it reads the input only.
      std::copy_n(pcm.begin() + f * kFrameSamples, kFrameSamples, frame_.begin());
      gsm_encode(state_.get(), frame_.data(), out.data() + f * kFrameBytes);
    }
    return max_payload_bytes();
  }

 private:
  // Allocated by this.
  GsmState state_;
  std::array<gsm_signal, kFrameSamples> frame_{};
};

class GsmDecoder final : public FixedRateDecoder {
 public:
  explicit GsmDecoder(GsmState state) : FixedRateDecoder(Info()), state_(std::move(state)) {}

  Result<int> PacketSamples(std::span<const uint8_t> payload) const override {
    Result<size_t> frames = CheckWholeFrames(Info(), payload.size(), kFrameBytes);
    if (!frames) return frames.error();
    return static_cast<int>(*frames) * kFrameSamples;
  }

  Result<int> Decode(std::span<const uint8_t> payload, std::span<int16_t> out) override {
    Result<int> samples = CheckDecodeInput(payload, out);
    if (!samples) return samples;
    // Check every frame before decoding any, so a bad packet leaves the state untouched.
    for (size_t offset = 0; offset < payload.size(); offset += kFrameBytes) {
      if ((payload[offset] >> 4) != kFrameSignature) {
        return Error{fmt::format("GSM: frame at offset {} starts with 0x{:02x}, not signature 0xD",
                                 offset, payload[offset])};
      }
    }
    const size_t frames = payload.size() / kFrameBytes;
    for (size_t f = 0; f < frames; ++f) {
      // gsm_decode() takes a non-const pointer; it reads the input only.
      std::copy_n(payload.begin() + f * kFrameBytes, kFrameBytes, frame_.begin());
      if (gsm_decode(state_.get(), frame_.data(), out.data() + f * kFrameSamples) != 0) {
        return Error{fmt::format("GSM: libgsm rejected the frame at offset {}", f * kFrameBytes)};
      }
    }
    return samples;
  }

  void Reset() override {
    // libgsm has no reset; a fresh state is the only clean one (allocates, off the packet path).
    if (GsmState fresh(gsm_create()); fresh) state_ = std::move(fresh);
  }

 private:
  // Allocated by this.
  GsmState state_;
  std::array<gsm_byte, kFrameBytes> frame_{};
};

}  // namespace

Result<std::unique_ptr<AudioEncoder>> CreateGsmEncoder(const EncoderConfig& config) {
  Result<int> frame_ms = CheckFixedRateEncoderConfig(Info(), config);
  if (!frame_ms) return frame_ms.error();
  GsmState state(gsm_create());
  if (!state) return Error{"GSM: libgsm could not create an encoder"};
  return std::unique_ptr<AudioEncoder>(std::make_unique<GsmEncoder>(std::move(state), *frame_ms));
}

Result<std::unique_ptr<AudioDecoder>> CreateGsmDecoder(const DecoderConfig& config) {
  if (Status s = CheckFixedRateDecoderConfig(Info(), config); !s) return s.error();
  GsmState state(gsm_create());
  if (!state) return Error{"GSM: libgsm could not create a decoder"};
  return std::unique_ptr<AudioDecoder>(std::make_unique<GsmDecoder>(std::move(state)));
}

}  // namespace parley::codec
