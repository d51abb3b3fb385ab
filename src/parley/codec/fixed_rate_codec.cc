#include "parley/codec/fixed_rate_codec.h"

#include <fmt/format.h>

#include "parley/codec/config_check.h"

namespace parley::codec {

Status FixedRateEncoder::SetFrameMs(int frame_ms) {
  if (Status s = CheckFrameMs(info_, frame_ms); !s) return s;
  frame_ms_ = frame_ms;
  return Status::Ok();
}

Status FixedRateEncoder::SetBitrate(int bitrate_bps) {
  return CheckFixedBitrate(info_, bitrate_bps);
}

Status FixedRateEncoder::CheckEncodeInput(std::span<const int16_t> pcm,
                                          std::span<const uint8_t> out) const {
  return CheckEncodeBuffers(info_, frame_ms_, 1, pcm.size(), static_cast<size_t>(frame_samples()),
                            out.size(), max_payload_bytes());
}

Result<int> FixedRateDecoder::CheckDecodeInput(std::span<const uint8_t> payload,
                                               std::span<const int16_t> out) const {
  Result<int> samples = PacketSamples(payload);
  if (!samples) return samples;
  if (Status s = CheckOutputBuffer(info_, out.size(), static_cast<size_t>(*samples)); !s) {
    return s.error();
  }
  return samples;
}

Status FixedRateDecoder::CheckConcealInput(int samples_per_channel,
                                           std::span<const int16_t> out) const {
  if (samples_per_channel <= 0) {
    return Error{fmt::format("{}: conceal samples_per_channel {} must be > 0", info_.name,
                             samples_per_channel)};
  }
  return CheckOutputBuffer(info_, out.size(), static_cast<size_t>(samples_per_channel));
}

}  // namespace parley::codec
