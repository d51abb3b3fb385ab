#include "parley/codec/g722_codec.h"

#include <fmt/format.h>

// spandsp.h pulls in libtiff, so the parts are included one by one; telephony.h defines
// SPAN_DECLARE and must come first.
// clang-format off
#include <spandsp/telephony.h>
#include <spandsp/g722.h>
// clang-format on

#include "parley/codec/config_check.h"
#include "parley/codec/fixed_rate_codec.h"
#include "parley/codec/registry.h"

namespace parley::codec {
namespace {

constexpr int kSampleRateHz = 16000;
constexpr int kBitrateBps = 64000;
// At 64 kbit/s each byte holds one 8 kHz sub-band pair: two 16 kHz samples.
constexpr int kSamplesPerByte = 2;
constexpr int kBytesPerMs = kSampleRateHz / 1000 / kSamplesPerByte;

const CodecInfo& Info() { return GetCodecInfo(CodecId::kG722); }

struct EncodeStateDeleter {
  void operator()(g722_encode_state_t* s) const { g722_encode_free(s); }
};
struct DecodeStateDeleter {
  void operator()(g722_decode_state_t* s) const { g722_decode_free(s); }
};

class G722Encoder final : public FixedRateEncoder {
 public:
  G722Encoder(std::unique_ptr<g722_encode_state_t, EncodeStateDeleter> state, int frame_ms)
      : FixedRateEncoder(Info(), frame_ms), state_(std::move(state)) {}

  size_t max_payload_bytes() const override {
    return static_cast<size_t>(frame_ms() * kBytesPerMs);
  }

  Result<size_t> Encode(std::span<const int16_t> pcm, std::span<uint8_t> out) override {
    if (Status s = CheckEncodeInput(pcm, out); !s) return s.error();
    return static_cast<size_t>(g722_encode(state_.get(), out.data(), pcm.data(), frame_samples()));
  }

 private:
  // Allocated by this.
  std::unique_ptr<g722_encode_state_t, EncodeStateDeleter> state_;
};

class G722Decoder final : public FixedRateDecoder {
 public:
  explicit G722Decoder(std::unique_ptr<g722_decode_state_t, DecodeStateDeleter> state)
      : FixedRateDecoder(Info()), state_(std::move(state)) {}

  Result<int> PacketSamples(std::span<const uint8_t> payload) const override {
    if (payload.empty()) return Error{"G722: empty payload"};
    return static_cast<int>(payload.size()) * kSamplesPerByte;
  }

  Result<int> Decode(std::span<const uint8_t> payload, std::span<int16_t> out) override {
    if (Result<int> samples = CheckDecodeInput(payload, out); !samples) return samples;
    return g722_decode(state_.get(), out.data(), payload.data(), static_cast<int>(payload.size()));
  }

  // Re-initialises the state in place (spandsp clears a caller-provided state).
  void Reset() override { g722_decode_init(state_.get(), kBitrateBps, 0); }

 private:
  // Allocated by this.
  std::unique_ptr<g722_decode_state_t, DecodeStateDeleter> state_;
};

}  // namespace

Result<std::unique_ptr<AudioEncoder>> CreateG722Encoder(const EncoderConfig& config) {
  Result<int> frame_ms = CheckFixedRateEncoderConfig(Info(), config);
  if (!frame_ms) return frame_ms.error();
  std::unique_ptr<g722_encode_state_t, EncodeStateDeleter> state(
      g722_encode_init(nullptr, kBitrateBps, 0));
  if (!state) return Error{"G722: spandsp could not create an encoder"};
  return std::unique_ptr<AudioEncoder>(std::make_unique<G722Encoder>(std::move(state), *frame_ms));
}

Result<std::unique_ptr<AudioDecoder>> CreateG722Decoder(const DecoderConfig& config) {
  if (Status s = CheckFixedRateDecoderConfig(Info(), config); !s) return s.error();
  std::unique_ptr<g722_decode_state_t, DecodeStateDeleter> state(
      g722_decode_init(nullptr, kBitrateBps, 0));
  if (!state) return Error{"G722: spandsp could not create a decoder"};
  return std::unique_ptr<AudioDecoder>(std::make_unique<G722Decoder>(std::move(state)));
}

}  // namespace parley::codec
