// Decodes one stream whose payload type may change from packet to packet: a sender that
// switches profile mid-call (PCMU to Opus, Opus at another rate) is followed packet by
// packet, and the audio always comes out at one rate and channel count.
//
// Static payload types (RFC 3551: 0 PCMU, 3 GSM, 8 PCMA, 9 G722, 18 G729) are known from
// the start; dynamic ones (96..127) are bound with Map(), as an SDP a=rtpmap line does.
// Decoders are built on first use and kept, so switching back and forth costs nothing
// after the first packet; a decoder that was idle is reset before it is used again (its
// history belongs to an earlier stretch of the stream).
//
// Threading: one thread at a time. Per packet: no allocation once every payload type in
// use has been seen.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "parley/base/result.h"
#include "parley/codec/codec.h"

namespace parley::audio {
class Resampler;
}

namespace parley::codec {

class DecoderBank {
 public:
  struct Config {
    int output_rate_hz = 48000;  // any rate the resampler supports
    int output_channels = 1;     // 1 or 2
  };

  // What a payload type stands for.
  struct Binding {
    const CodecInfo* codec = nullptr;
    int sample_rate_hz = 0;  // L16: its rate (rtpmap clock); 0 for the codec's own
    int channels = 1;
    int bitrate_bps = 0;  // Codec 2: the mode; 0 for the default
  };

  explicit DecoderBank(Config config);
  ~DecoderBank();
  DecoderBank(const DecoderBank&) = delete;
  DecoderBank& operator=(const DecoderBank&) = delete;

  // Binds `payload_type` (0..127) to a codec; replaces an earlier binding of it.
  [[nodiscard]] Status Map(int payload_type, const Binding& binding);
  // The binding of `payload_type`, or nullptr when it is unknown.
  const Binding* Find(int payload_type) const;

  // Decodes `payload` with the decoder of `payload_type` into `out` at the output rate
  // and channel count. Returns samples per channel written, which can differ by a few
  // from the packet's duration while a resampler's filter fills; `out` must hold the
  // packet's samples at the output rate plus kResamplerSlack per channel. Errors: an
  // unknown payload type, a malformed payload, `out` too small; all are counted.
  [[nodiscard]] Result<int> Decode(int payload_type, std::span<const uint8_t> payload,
                                   std::span<int16_t> out);

  // Extra output samples per channel (beyond the packet's duration) Decode may write.
  static constexpr int kResamplerSlack = 64;

  // Payload type of the last decoded packet, -1 before the first.
  int current_payload_type() const { return current_payload_type_; }
  // Times the payload type changed between consecutive decoded packets.
  int64_t switches() const { return switches_; }
  // Packets refused: unknown payload type, or the decoder rejected them.
  int64_t unknown_payload_type_packets() const { return unknown_payload_type_packets_; }
  int64_t malformed_packets() const { return malformed_packets_; }

 private:
  struct Slot;
  Result<Slot*> SlotFor(int payload_type);

  // Passed by argument.
  const Config config_;
  // Allocated by this: one slot per payload type, built on first use.
  std::array<std::unique_ptr<Slot>, 128> slots_;
  std::vector<int16_t> decoded_;
  std::vector<int16_t> remixed_;
  std::vector<int16_t> resampled_;
  // Others.
  int current_payload_type_ = -1;
  int64_t switches_ = 0;
  int64_t unknown_payload_type_packets_ = 0;
  int64_t malformed_packets_ = 0;
};

}  // namespace parley::codec
