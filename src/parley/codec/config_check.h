// Checks of EncoderConfig / DecoderConfig fields and Encode()/Decode() buffer sizes
// against a codec's limits, shared by the codec implementations so that every codec
// names the bad field and the allowed values the same way:
//
//   "PCMU: sample_rate_hz 16000 not supported (0 or 8000)"
//
// Each check returns Ok or an Error prefixed with the codec's SDP name.
#pragma once

#include <cstddef>
#include <string_view>

#include "parley/base/result.h"
#include "parley/codec/codec.h"

namespace parley::codec {

// sample_rate_hz must be 0 (the codec's own rate) or info.sample_rate_hz.
[[nodiscard]] Status CheckOwnSampleRate(const CodecInfo& info, int sample_rate_hz);
// channels must be 1..info.max_channels.
[[nodiscard]] Status CheckChannels(const CodecInfo& info, int channels);
// frame_ms must satisfy info.AcceptsFrameMs() (0 is not accepted here: resolve it first).
[[nodiscard]] Status CheckFrameMs(const CodecInfo& info, int frame_ms);
// A fixed-rate codec accepts bitrate_bps 0 or info.default_bitrate_bps.
[[nodiscard]] Status CheckFixedBitrate(const CodecInfo& info, int bitrate_bps);

// All four checks for a fixed-rate codec at its own sample rate. Returns the packet
// duration to use in ms (config.frame_ms, or info.default_frame_ms when 0).
[[nodiscard]] Result<int> CheckFixedRateEncoderConfig(const CodecInfo& info,
                                                      const EncoderConfig& config);
// Rate and channel checks for a decoder at the codec's own sample rate.
[[nodiscard]] Status CheckFixedRateDecoderConfig(const CodecInfo& info,
                                                 const DecoderConfig& config);

// Encode(): `pcm_samples` must equal `expected_samples` (interleaved, for frame_ms and
// channels) and `out_bytes` must hold `payload_bytes`.
[[nodiscard]] Status CheckEncodeBuffers(const CodecInfo& info, int frame_ms, int channels,
                                        size_t pcm_samples, size_t expected_samples,
                                        size_t out_bytes, size_t payload_bytes);
// Decode()/Conceal(): `out_samples` must hold `needed_samples` (interleaved).
[[nodiscard]] Status CheckOutputBuffer(const CodecInfo& info, size_t out_samples,
                                       size_t needed_samples);
// PacketSamples(): a payload of `payload_bytes` must hold one or more whole frames of
// `frame_bytes` bytes. Returns the number of frames. `mode`, when not empty, follows the
// codec's name in the Error ("codec2 1400: ..."), for codecs whose frame size it sets.
[[nodiscard]] Result<size_t> CheckWholeFrames(const CodecInfo& info, size_t payload_bytes,
                                              size_t frame_bytes, std::string_view mode = {});

}  // namespace parley::codec
