#include "parley/codec/codec.h"

#include <fmt/format.h>

namespace parley::codec {

std::string CodecInfo::Rtpmap() const {
  if (rtpmap_channels > 1) return fmt::format("{}/{}/{}", name, rtp_clock_rate_hz, rtpmap_channels);
  return fmt::format("{}/{}", name, rtp_clock_rate_hz);
}

bool CodecInfo::AcceptsFrameMs(int frame_ms) const {
  if (frame_ms < min_frame_ms || frame_ms > max_frame_ms) return false;
  if (id == CodecId::kOpus) {
    // libopus frames are 2.5..60 ms; longer packets (up to 120 ms) hold several 20 ms frames.
    return frame_ms == 10 || frame_ms == 20 || frame_ms == 40 || frame_ms == 60 ||
           (frame_ms > 60 && frame_ms % 20 == 0);
  }
  return frame_ms % native_frame_ms == 0;
}

Result<int> AudioDecoder::Conceal(int /*samples_per_channel*/, std::span<int16_t> /*out*/) {
  return Error{fmt::format("{} has no packet loss concealment of its own", info().name)};
}

Result<int> AudioDecoder::DecodeFec(std::span<const uint8_t> /*next_payload*/,
                                    int /*samples_per_channel*/, std::span<int16_t> /*out*/) {
  return Error{fmt::format("{} carries no in-band FEC", info().name)};
}

}  // namespace parley::codec
