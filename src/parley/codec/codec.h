// The encoder/decoder contract every codec in parley implements.
//
// Audio is interleaved int16 at the codec's sample rate. A "frame" here is one
// packet's worth of audio: for codecs with a short native frame (G.729 10 ms,
// GSM 20 ms, Codec2 20/40 ms) a packet of frame_ms carries several native
// frames back to back, as RTP packs them.
//
// Threading: an encoder or decoder is used by one thread at a time.
// Bad input: Decode() of a malformed payload returns an Error and leaves the
// decoder usable; nothing throws on the media path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "parley/base/result.h"

namespace parley::codec {

enum class CodecId { kOpus, kPcmu, kPcma, kG722, kL16, kCodec2, kG729, kGsm };

// Marks a codec without a static RTP payload type (RFC 3551 table 4).
inline constexpr int kDynamicPayloadType = -1;

// Longest packet any codec here produces, in samples per channel at 48 kHz (Opus 120 ms).
inline constexpr int kMaxPacketSamples48k = 5760;
// Most channels any codec here carries.
inline constexpr int kMaxChannels = 2;

struct EncoderConfig;
struct DecoderConfig;
class AudioEncoder;
class AudioDecoder;

using EncoderFactory = Result<std::unique_ptr<AudioEncoder>> (*)(const EncoderConfig&);
using DecoderFactory = Result<std::unique_ptr<AudioDecoder>> (*)(const DecoderConfig&);

// What the registry knows about a codec: identity, RTP/SDP description and
// packetisation limits. Plain data; one constant instance per codec.
struct CodecInfo {
  CodecId id;
  std::string_view name;          // SDP encoding name: "opus", "PCMU", "G722", ...
  std::string_view description;   // one line for --help and listings
  int rtp_clock_rate_hz;          // RTP timestamp clock (G.722: 8000, RFC 3551 4.5.2)
  int sample_rate_hz;             // audio rate the codec works at (G.722: 16000)
  int rtpmap_channels;            // channels in the rtpmap (Opus: always 2, RFC 7587)
  int max_channels;               // channels the encoder accepts
  int static_payload_type;        // 0..95, or kDynamicPayloadType
  int default_payload_type;       // PT used when none was negotiated
  std::string_view default_fmtp;  // SDP a=fmtp parameters; empty when none
  int native_frame_ms;            // the codec's own frame; packets are multiples of it
  int min_frame_ms;               // shortest packet duration accepted
  int max_frame_ms;               // longest packet duration accepted
  int default_frame_ms;
  int default_bitrate_bps;
  std::string_view file_extension;  // raw stream files: "ul", "al", "g722", "c2", ...
  EncoderFactory make_encoder;
  DecoderFactory make_decoder;

  // "opus/48000/2", "PCMU/8000", as in an SDP a=rtpmap line.
  std::string Rtpmap() const;
  // Whether a packet of frame_ms is allowed (a multiple of native_frame_ms in range;
  // Opus: 10, 20, 40 or 60 ms, and 80..120 in steps of 20).
  bool AcceptsFrameMs(int frame_ms) const;
};

// Encoder settings. Zero/negative values mean "the codec's default".
struct EncoderConfig {
  int sample_rate_hz = 0;         // 0: the codec's own rate. Opus: 8000/12000/16000/24000/48000.
  int channels = 1;               // 1 or 2 where the codec allows
  int frame_ms = 0;               // packet duration; 0: default_frame_ms
  int bitrate_bps = 0;            // 0: default_bitrate_bps. Codec2: selects the mode.
  int complexity = -1;            // Opus 0..10; -1: library default
  bool fec = false;               // Opus in-band FEC (LBRR)
  int expected_loss_percent = 0;  // Opus: tunes FEC strength, 0..100
  bool dtx = false;               // discontinuous transmission where supported
};

struct DecoderConfig {
  int sample_rate_hz = 0;  // 0: the codec's own rate. Opus decodes at any of its rates.
  int channels = 1;
};

class AudioEncoder {
 public:
  AudioEncoder() = default;
  virtual ~AudioEncoder() = default;
  AudioEncoder(const AudioEncoder&) = delete;
  AudioEncoder& operator=(const AudioEncoder&) = delete;

  virtual const CodecInfo& info() const = 0;
  virtual int sample_rate_hz() const = 0;
  virtual int channels() const = 0;
  // Packet duration in ms.
  virtual int frame_ms() const = 0;
  // Samples per channel consumed by one Encode() call.
  // (rate * ms / 1000, exact for every rate here: 44100 Hz x 10 ms = 441.)
  int frame_samples() const { return sample_rate_hz() * frame_ms() / 1000; }
  // Target bitrate in bits/s (nominal for fixed-rate codecs).
  virtual int bitrate_bps() const = 0;
  // Upper bound on the bytes Encode() writes for one packet.
  virtual size_t max_payload_bytes() const = 0;

  // Encodes one packet. `pcm` holds exactly frame_samples() * channels() interleaved
  // samples. Returns the payload size written to `out`; 0 means "nothing to send"
  // (DTX). Fails if `pcm` has the wrong size or `out` is too small.
  [[nodiscard]] virtual Result<size_t> Encode(std::span<const int16_t> pcm,
                                              std::span<uint8_t> out) = 0;

  // Changes the packet duration from the next Encode() on.
  [[nodiscard]] virtual Status SetFrameMs(int frame_ms) = 0;
  // Changes the target bitrate from the next Encode() on. Fixed-rate codecs accept
  // only their own rate; Codec2 switches mode.
  [[nodiscard]] virtual Status SetBitrate(int bitrate_bps) = 0;
};

class AudioDecoder {
 public:
  AudioDecoder() = default;
  virtual ~AudioDecoder() = default;
  AudioDecoder(const AudioDecoder&) = delete;
  AudioDecoder& operator=(const AudioDecoder&) = delete;

  virtual const CodecInfo& info() const = 0;
  // Rate and channel count of the decoded audio.
  virtual int sample_rate_hz() const = 0;
  virtual int channels() const = 0;

  // Samples per channel that `payload` decodes to, without decoding it.
  [[nodiscard]] virtual Result<int> PacketSamples(std::span<const uint8_t> payload) const = 0;

  // Decodes one payload into `out` (interleaved). Returns samples per channel written.
  // `out` must hold PacketSamples(payload) * channels() samples; a smaller one is an
  // Error, and nothing is written beyond `out`.
  [[nodiscard]] virtual Result<int> Decode(std::span<const uint8_t> payload,
                                           std::span<int16_t> out) = 0;

  // True when Conceal() runs the codec's own packet loss concealment.
  virtual bool has_plc() const { return false; }
  // Writes `samples_per_channel` samples concealing lost audio that follows the last
  // decoded packet. Codecs without their own PLC return an Error; the playout layer
  // conceals for them.
  [[nodiscard]] virtual Result<int> Conceal(int samples_per_channel, std::span<int16_t> out);

  // True when DecodeFec() can recover a lost packet from the packet after it.
  virtual bool has_fec() const { return false; }
  // Recovers the `samples_per_channel` samples of the lost packet that precedes
  // `next_payload`, from the redundancy `next_payload` carries (Opus LBRR). Returns
  // samples per channel written. When the next packet has no FEC data the codec
  // conceals instead (libopus does so itself).
  [[nodiscard]] virtual Result<int> DecodeFec(std::span<const uint8_t> next_payload,
                                              int samples_per_channel, std::span<int16_t> out);

  // Forgets all history, as at the start of a new stream.
  virtual void Reset() = 0;
};

}  // namespace parley::codec
