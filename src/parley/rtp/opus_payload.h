// Opus over RTP (RFC 7587): one Opus packet per RTP payload, RTP clock 48 kHz.
//
// The RTP timestamp always advances in 48 kHz samples, whatever rate the stream is
// encoded or decoded at (RFC 7587 §4.1): a 20 ms packet advances it by 960 even for a
// narrowband stream decoded at 8 kHz. The duration of a payload comes from its TOC
// byte and frame count (RFC 6716 §3.1), which ParseOpusPayload reads and checks.
//
// Validation is libopus's own (opus_packet_parse: rules R1-R7 of RFC 6716 §3.4 as far as
// they can be checked without decoding); parley adds the description and errors that
// name the offset. Pure functions, no allocation, safe from any thread.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

#include "parley/base/result.h"
#include "parley/codec/opus_codec.h"

namespace parley::rtp {

// RFC 7587 §4.1: the RTP clock rate of Opus is 48000 Hz in every case.
inline constexpr int kOpusRtpClockHz = 48000;
// RFC 6716 §3.2.5: a code-3 packet holds at most 48 frames (48 x 2.5 ms = 120 ms).
inline constexpr int kMaxOpusFramesPerPacket = 48;
// RFC 6716 §3.4 R5: no packet lasts longer than 120 ms (5760 samples at 48 kHz).
inline constexpr int kMaxOpusPacketSamples48k = 5760;

// Which of the Opus layers coded the packet (RFC 6716 §3.1, Table 2).
enum class OpusMode { kSilk, kHybrid, kCelt };

// What the TOC byte (and, for code 3, the frame count byte) of one Opus packet says.
//
//    0 1 2 3 4 5 6 7
//   +-+-+-+-+-+-+-+-+
//   | config  |s| c |   config 0..31 (mode, bandwidth, frame size), s stereo, c code 0..3
//   +-+-+-+-+-+-+-+-+
//
// Code 0: one frame; 1: two frames of equal size; 2: two frames of different sizes;
// 3: `frame_count` frames, CBR or VBR, optional padding, after a count byte:
//
//    0 1 2 3 4 5 6 7
//   +-+-+-+-+-+-+-+-+
//   |v|p|     M     |   v VBR, p padding present, M frame count 1..48
//   +-+-+-+-+-+-+-+-+
struct OpusPacketInfo {
  int config = 0;  // 0..31
  OpusMode mode = OpusMode::kSilk;
  codec::OpusBandwidth bandwidth = codec::OpusBandwidth::kNarrowband;
  bool stereo = false;
  int frame_count_code = 0;      // c: 0..3
  bool vbr = false;              // code 2 always, code 3 when its v bit is set
  int frame_count = 0;           // 1..48
  int frame_samples_48k = 0;     // per frame: 120 (2.5 ms) .. 2880 (60 ms)
  int duration_samples_48k = 0;  // frame_count * frame_samples_48k, <= 5760
  size_t padding_bytes = 0;      // code-3 trailing padding (not counting its length bytes)
  // Bytes of each frame, [0, frame_count); a frame of 0 bytes is DTX / lost (RFC 6716 §3.2.1).
  std::array<int16_t, kMaxOpusFramesPerPacket> frame_bytes{};

  // The packet's duration, i.e. how far the RTP timestamp advances after it.
  std::chrono::microseconds duration() const {
    return std::chrono::microseconds(int64_t{duration_samples_48k} * 1'000'000 / kOpusRtpClockHz);
  }
};

// Describes and validates one Opus RTP payload. Never throws; an Error names the field
// and its offset in the payload ("code 3 frame count 0 at offset 1").
[[nodiscard]] Result<OpusPacketInfo> ParseOpusPayload(std::span<const uint8_t> payload);

// The mode and bandwidth that a TOC config number 0..31 stands for (RFC 6716 Table 2).
OpusMode OpusModeOfConfig(int config);
codec::OpusBandwidth OpusBandwidthOfConfig(int config);

}  // namespace parley::rtp
