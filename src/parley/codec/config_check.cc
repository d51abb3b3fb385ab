#include "parley/codec/config_check.h"

#include <fmt/format.h>

namespace parley::codec {

Status CheckOwnSampleRate(const CodecInfo& info, int sample_rate_hz) {
  if (sample_rate_hz != 0 && sample_rate_hz != info.sample_rate_hz) {
    return Error{fmt::format("{}: sample_rate_hz {} not supported (0 or {})", info.name,
                             sample_rate_hz, info.sample_rate_hz)};
  }
  return Status::Ok();
}

Status CheckChannels(const CodecInfo& info, int channels) {
  if (channels < 1 || channels > info.max_channels) {
    if (info.max_channels == 1) {
      return Error{fmt::format("{}: channels {} not supported (1)", info.name, channels)};
    }
    return Error{fmt::format("{}: channels {} not supported (1..{})", info.name, channels,
                             info.max_channels)};
  }
  return Status::Ok();
}

Status CheckFrameMs(const CodecInfo& info, int frame_ms) {
  if (!info.AcceptsFrameMs(frame_ms)) {
    return Error{fmt::format("{}: frame_ms {} not supported ({}..{} in steps of {})", info.name,
                             frame_ms, info.min_frame_ms, info.max_frame_ms, info.native_frame_ms)};
  }
  return Status::Ok();
}

Status CheckFixedBitrate(const CodecInfo& info, int bitrate_bps) {
  if (bitrate_bps != 0 && bitrate_bps != info.default_bitrate_bps) {
    return Error{fmt::format("{}: bitrate_bps {} not supported (0 or {}: the codec has one rate)",
                             info.name, bitrate_bps, info.default_bitrate_bps)};
  }
  return Status::Ok();
}

Result<int> CheckFixedRateEncoderConfig(const CodecInfo& info, const EncoderConfig& config) {
  if (Status s = CheckOwnSampleRate(info, config.sample_rate_hz); !s) return s.error();
  if (Status s = CheckChannels(info, config.channels); !s) return s.error();
  const int frame_ms = config.frame_ms == 0 ? info.default_frame_ms : config.frame_ms;
  if (Status s = CheckFrameMs(info, frame_ms); !s) return s.error();
  if (Status s = CheckFixedBitrate(info, config.bitrate_bps); !s) return s.error();
  return frame_ms;
}

Status CheckFixedRateDecoderConfig(const CodecInfo& info, const DecoderConfig& config) {
  if (Status s = CheckOwnSampleRate(info, config.sample_rate_hz); !s) return s;
  return CheckChannels(info, config.channels);
}

Status CheckEncodeBuffers(const CodecInfo& info, int frame_ms, int channels, size_t pcm_samples,
                          size_t expected_samples, size_t out_bytes, size_t payload_bytes) {
  if (pcm_samples != expected_samples) {
    return Error{fmt::format("{}: pcm holds {} samples, expected {} ({} ms x {} channel{})",
                             info.name, pcm_samples, expected_samples, frame_ms, channels,
                             channels == 1 ? "" : "s")};
  }
  if (out_bytes < payload_bytes) {
    return Error{fmt::format("{}: output buffer {} bytes < payload {} bytes", info.name, out_bytes,
                             payload_bytes)};
  }
  return Status::Ok();
}

Status CheckOutputBuffer(const CodecInfo& info, size_t out_samples, size_t needed_samples) {
  if (out_samples < needed_samples) {
    return Error{fmt::format("{}: output buffer {} samples < {} needed", info.name, out_samples,
                             needed_samples)};
  }
  return Status::Ok();
}

Result<size_t> CheckWholeFrames(const CodecInfo& info, size_t payload_bytes, size_t frame_bytes,
                                std::string_view mode) {
  const std::string_view space = mode.empty() ? "" : " ";
  if (payload_bytes == 0)
    return Error{fmt::format("{}{}{}: empty payload", info.name, space, mode)};
  if (payload_bytes % frame_bytes != 0) {
    return Error{fmt::format("{}{}{}: payload {} bytes is not a multiple of the {}-byte frame",
                             info.name, space, mode, payload_bytes, frame_bytes)};
  }
  return payload_bytes / frame_bytes;
}

}  // namespace parley::codec
