#include "parley/codec/g711_codec.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

// spandsp.h pulls in libtiff, so the parts are included one by one, in this order:
// telephony.h defines SPAN_DECLARE, bit_operations.h the top_bit() that g711.h uses.
// clang-format off
#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>
#include <spandsp/plc.h>
// clang-format on

#include "parley/codec/config_check.h"
#include "parley/codec/fixed_rate_codec.h"
#include "parley/codec/registry.h"

namespace parley::codec {
namespace {

enum class Law { kMu, kA };

constexpr int kSampleRateHz = 8000;
constexpr int kSamplesPerMs = kSampleRateHz / 1000;

// spandsp's linear_to_ulaw() quantises |x| of a negative sample, G.191 its ones'
// complement ~x = |x| - 1 (so -4 is mu-law 0x7F, not 0x7E). Feeding x + 1 for x < -1
// gives G.191's code; -1 already maps to "-0" (0x7F) either way. spandsp's A-law
// encoder uses the ones' complement itself.
uint8_t EncodeMu(int16_t x) { return linear_to_ulaw(x < -1 ? x + 1 : x); }
uint8_t EncodeA(int16_t x) { return linear_to_alaw(x); }

const CodecInfo& InfoFor(Law law) {
  return GetCodecInfo(law == Law::kMu ? CodecId::kPcmu : CodecId::kPcma);
}

class G711Encoder final : public FixedRateEncoder {
 public:
  G711Encoder(Law law, int frame_ms) : FixedRateEncoder(InfoFor(law), frame_ms), law_(law) {}

  size_t max_payload_bytes() const override {
    return static_cast<size_t>(frame_ms() * kSamplesPerMs);
  }

  Result<size_t> Encode(std::span<const int16_t> pcm, std::span<uint8_t> out) override {
    if (Status s = CheckEncodeInput(pcm, out); !s) return s.error();
    const size_t samples = static_cast<size_t>(frame_samples());
    if (law_ == Law::kMu) {
      for (size_t i = 0; i < samples; ++i) out[i] = EncodeMu(pcm[i]);
    } else {
      for (size_t i = 0; i < samples; ++i) out[i] = EncodeA(pcm[i]);
    }
    return samples;
  }

 private:
  const Law law_;
};

class G711Decoder final : public FixedRateDecoder {
 public:
  explicit G711Decoder(Law law) : FixedRateDecoder(InfoFor(law)), law_(law) { plc_init(&plc_); }
  ~G711Decoder() override { plc_release(&plc_); }

  Result<int> PacketSamples(std::span<const uint8_t> payload) const override {
    if (payload.empty()) return Error{fmt::format("{}: empty payload", info().name)};
    // RTP payloads are at most a datagram (< 64 KiB), far below INT_MAX.
    return static_cast<int>(payload.size());
  }

  Result<int> Decode(std::span<const uint8_t> payload, std::span<int16_t> out) override {
    Result<int> samples = CheckDecodeInput(payload, out);
    if (!samples) return samples;
    if (law_ == Law::kMu) {
      for (size_t i = 0; i < payload.size(); ++i) out[i] = ulaw_to_linear(payload[i]);
    } else {
      for (size_t i = 0; i < payload.size(); ++i) out[i] = alaw_to_linear(payload[i]);
    }
    // Records the history the concealment repeats; after a loss it also cross-fades the
    // concealed signal into this packet, so it may change the first samples.
    plc_rx(&plc_, out.data(), *samples);
    return samples;
  }

  bool has_plc() const override { return true; }

  // Pitch-period repetition of the last decoded audio (G.711 Appendix I style): full level
  // for the first 10 ms of a loss, then a linear fade that is silent from 50 ms on.
  Result<int> Conceal(int samples_per_channel, std::span<int16_t> out) override {
    if (Status s = CheckConcealInput(samples_per_channel, out); !s) return s.error();
    if (plc_.missing_samples == 0 && plc_.buf_ptr != 0) {
      // At the start of a loss spandsp 0.0.6 unrolls its ring buffer of history with a
      // memcpy() onto itself (overlapping ranges: undefined behaviour, flagged by ASan).
      // The same rotation done here first leaves it nothing to do.
      std::rotate(std::begin(plc_.history), std::begin(plc_.history) + plc_.buf_ptr,
                  std::end(plc_.history));
      plc_.buf_ptr = 0;
    }
    plc_fillin(&plc_, out.data(), samples_per_channel);
    return samples_per_channel;
  }

  void Reset() override { plc_init(&plc_); }

 private:
  const Law law_;
  // Allocated by this (inline: spandsp exposes the PLC state struct).
  plc_state_t plc_{};
};

Result<std::unique_ptr<AudioEncoder>> MakeEncoder(Law law, const EncoderConfig& config) {
  Result<int> frame_ms = CheckFixedRateEncoderConfig(InfoFor(law), config);
  if (!frame_ms) return frame_ms.error();
  return std::unique_ptr<AudioEncoder>(std::make_unique<G711Encoder>(law, *frame_ms));
}

Result<std::unique_ptr<AudioDecoder>> MakeDecoder(Law law, const DecoderConfig& config) {
  if (Status s = CheckFixedRateDecoderConfig(InfoFor(law), config); !s) return s.error();
  return std::unique_ptr<AudioDecoder>(std::make_unique<G711Decoder>(law));
}

}  // namespace

Result<std::unique_ptr<AudioEncoder>> CreatePcmuEncoder(const EncoderConfig& config) {
  return MakeEncoder(Law::kMu, config);
}
Result<std::unique_ptr<AudioDecoder>> CreatePcmuDecoder(const DecoderConfig& config) {
  return MakeDecoder(Law::kMu, config);
}
Result<std::unique_ptr<AudioEncoder>> CreatePcmaEncoder(const EncoderConfig& config) {
  return MakeEncoder(Law::kA, config);
}
Result<std::unique_ptr<AudioDecoder>> CreatePcmaDecoder(const DecoderConfig& config) {
  return MakeDecoder(Law::kA, config);
}

}  // namespace parley::codec
