#include "parley/rtp/opus_payload.h"

#include <fmt/format.h>
#include <opus/opus.h>

namespace parley::rtp {
namespace {

constexpr size_t kTocOffset = 0;
constexpr size_t kCountByteOffset = 1;
constexpr uint8_t kCodeMask = 0x03;
constexpr uint8_t kStereoBit = 0x04;
constexpr int kConfigShift = 3;
constexpr uint8_t kCountMask = 0x3F;
constexpr uint8_t kVbrBit = 0x80;
constexpr int kCode3 = 3;
// RFC 6716 Table 2: configs 0-11 SILK, 12-15 hybrid, 16-31 CELT.
constexpr int kFirstHybridConfig = 12;
constexpr int kFirstCeltConfig = 16;

}  // namespace

OpusMode OpusModeOfConfig(int config) {
  if (config < kFirstHybridConfig) return OpusMode::kSilk;
  if (config < kFirstCeltConfig) return OpusMode::kHybrid;
  return OpusMode::kCelt;
}

codec::OpusBandwidth OpusBandwidthOfConfig(int config) {
  using codec::OpusBandwidth;
  // SILK: NB, MB, WB in groups of 4; hybrid: SWB, FB in pairs; CELT: NB, WB, SWB, FB in 4s
  // (CELT has no mediumband).
  if (config < kFirstHybridConfig) {
    constexpr OpusBandwidth kSilk[] = {OpusBandwidth::kNarrowband, OpusBandwidth::kMediumband,
                                       OpusBandwidth::kWideband};
    return kSilk[config / 4];
  }
  if (config < kFirstCeltConfig) {
    return config < 14 ? OpusBandwidth::kSuperWideband : OpusBandwidth::kFullband;
  }
  constexpr OpusBandwidth kCelt[] = {OpusBandwidth::kNarrowband, OpusBandwidth::kWideband,
                                     OpusBandwidth::kSuperWideband, OpusBandwidth::kFullband};
  return kCelt[(config - kFirstCeltConfig) / 4];
}

Result<OpusPacketInfo> ParseOpusPayload(std::span<const uint8_t> payload) {
  // R1: at least the TOC byte.
  if (payload.empty()) {
    return Error{fmt::format("Opus payload empty: TOC byte missing at offset {}", kTocOffset)};
  }
  OpusPacketInfo info;
  const uint8_t toc = payload[kTocOffset];
  info.config = toc >> kConfigShift;
  info.mode = OpusModeOfConfig(info.config);
  info.bandwidth = OpusBandwidthOfConfig(info.config);
  info.stereo = (toc & kStereoBit) != 0;
  info.frame_count_code = toc & kCodeMask;
  info.frame_samples_48k = opus_packet_get_samples_per_frame(payload.data(), kOpusRtpClockHz);
  info.vbr = info.frame_count_code == 2;

  if (info.frame_count_code == kCode3) {
    // R6/R5: the count byte exists, M >= 1, and M frames last at most 120 ms.
    if (payload.size() <= kCountByteOffset) {
      return Error{
          fmt::format("Opus code 3 frame count byte missing at offset {}", kCountByteOffset)};
    }
    const uint8_t count_byte = payload[kCountByteOffset];
    const int count = count_byte & kCountMask;
    info.vbr = (count_byte & kVbrBit) != 0;
    if (count == 0) {
      return Error{fmt::format("Opus code 3 frame count 0 at offset {}", kCountByteOffset)};
    }
    if (count * info.frame_samples_48k > kMaxOpusPacketSamples48k) {
      return Error{fmt::format("Opus code 3 frame count {} x {} samples > {} (120 ms) at offset {}",
                               count, info.frame_samples_48k, kMaxOpusPacketSamples48k,
                               kCountByteOffset)};
    }
  }

  // The rest (frame lengths, odd code-1 sizes, padding, R2-R7) is libopus's check.
  unsigned char parsed_toc = 0;
  const unsigned char* frames[kMaxOpusFramesPerPacket] = {};
  opus_int16 sizes[kMaxOpusFramesPerPacket] = {};
  int payload_offset = 0;
  const int count = opus_packet_parse(payload.data(), static_cast<opus_int32>(payload.size()),
                                      &parsed_toc, frames, sizes, &payload_offset);
  if (count <= 0) {
    return Error{fmt::format(
        "Opus code {} frame lengths (from offset {}) inconsistent with payload of {} bytes",
        info.frame_count_code, info.frame_count_code == 0 ? 0 : 1, payload.size())};
  }
  info.frame_count = count;
  info.duration_samples_48k = count * info.frame_samples_48k;
  size_t frame_total = 0;
  for (int i = 0; i < count; ++i) {
    info.frame_bytes[static_cast<size_t>(i)] = sizes[i];
    frame_total += static_cast<size_t>(sizes[i]);
  }
  info.padding_bytes = payload.size() - static_cast<size_t>(payload_offset) - frame_total;
  return info;
}

}  // namespace parley::rtp
