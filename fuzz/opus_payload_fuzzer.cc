// Opus RTP payloads (RFC 7587) come from the far end: the description must never crash,
// and what it accepts must agree with libopus and with RFC 6716's limits.
#include <opus/opus.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "parley/rtp/opus_payload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::rtp;
  auto info = ParseOpusPayload(std::span<const uint8_t>(data, size));
  if (!info) return 0;
  if (info->frame_count < 1 || info->frame_count > kMaxOpusFramesPerPacket ||
      info->duration_samples_48k > kMaxOpusPacketSamples48k ||
      info->duration_samples_48k !=
          opus_packet_get_nb_samples(data, static_cast<opus_int32>(size), kOpusRtpClockHz)) {
    std::abort();
  }
  size_t total = info->padding_bytes;
  for (int i = 0; i < info->frame_count; ++i) total += static_cast<size_t>(info->frame_bytes[i]);
  if (total >= size) std::abort();  // frames and padding exclude at least the TOC byte
  return 0;
}
