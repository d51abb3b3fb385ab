// Base classes for the codecs that work at one sample rate, in mono: G.711, G.722, GSM,
// G.729 (encoder and decoder) and Codec 2 (decoder; one decoder decodes one mode).
//
// They hold what those codecs share, so that each states it once: the registry entry,
// the rate and channel count it implies, the packet duration with its check, the one
// bit rate, and the argument checks at the top of Encode(), Decode() and Conceal(), which
// name the codec and the bad value as config_check.h does.
//
// A derived class supplies the codec itself: max_payload_bytes() and Encode(), or
// PacketSamples(), Decode() and Reset() (and Conceal() when it has its own PLC).
// Threading: as AudioEncoder / AudioDecoder, one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "parley/base/result.h"
#include "parley/codec/codec.h"

namespace parley::codec {

// An encoder at info().sample_rate_hz, mono, at the one rate info().default_bitrate_bps.
class FixedRateEncoder : public AudioEncoder {
 public:
  const CodecInfo& info() const final { return info_; }
  // info().sample_rate_hz.
  int sample_rate_hz() const final { return info_.sample_rate_hz; }
  // Always 1.
  int channels() const final { return 1; }
  // Packet duration in ms.
  int frame_ms() const final { return frame_ms_; }
  // info().default_bitrate_bps, in bits/s.
  int bitrate_bps() const final { return info_.default_bitrate_bps; }

  // Takes any frame_ms that info().AcceptsFrameMs(); an Error (CheckFrameMs) otherwise,
  // keeping the current duration.
  [[nodiscard]] Status SetFrameMs(int frame_ms) final;
  // Accepts 0 or the codec's one rate and changes nothing; an Error (CheckFixedBitrate)
  // for any other rate.
  [[nodiscard]] Status SetBitrate(int bitrate_bps) final;

 protected:
  // `info` is the registry's entry (static storage); `frame_ms` has been checked
  // (CheckFixedRateEncoderConfig).
  FixedRateEncoder(const CodecInfo& info, int frame_ms) : info_(info), frame_ms_(frame_ms) {}

  // Encode()'s argument check: `pcm` must hold exactly frame_samples() samples and `out`
  // at least max_payload_bytes() bytes (CheckEncodeBuffers).
  [[nodiscard]] Status CheckEncodeInput(std::span<const int16_t> pcm,
                                        std::span<const uint8_t> out) const;

 private:
  // Passed by argument.
  const CodecInfo& info_;
  // Others.
  int frame_ms_;
};

// A decoder at info().sample_rate_hz, mono.
class FixedRateDecoder : public AudioDecoder {
 public:
  const CodecInfo& info() const final { return info_; }
  // info().sample_rate_hz.
  int sample_rate_hz() const final { return info_.sample_rate_hz; }
  // Always 1.
  int channels() const final { return 1; }

 protected:
  // `info` is the registry's entry (static storage).
  explicit FixedRateDecoder(const CodecInfo& info) : info_(info) {}

  // Decode()'s argument check: returns PacketSamples(payload), or its Error, or an Error
  // when `out` holds fewer samples than that (CheckOutputBuffer).
  [[nodiscard]] Result<int> CheckDecodeInput(std::span<const uint8_t> payload,
                                             std::span<const int16_t> out) const;
  // Conceal()'s argument check: samples_per_channel must be > 0 and `out` must hold
  // that many samples.
  [[nodiscard]] Status CheckConcealInput(int samples_per_channel,
                                         std::span<const int16_t> out) const;

 private:
  // Passed by argument.
  const CodecInfo& info_;
};

}  // namespace parley::codec
