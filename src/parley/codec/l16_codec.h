// L16: linear 16-bit PCM in network (big-endian) byte order, RFC 3551 4.5.11.
//
// Mono or stereo (interleaved, left first), at 8000, 16000, 24000, 32000, 44100 or
// 48000 Hz; the RTP clock equals the sample rate, so the SDP rtpmap is "L16/<rate>" or
// "L16/<rate>/2". info() is the registry entry, which describes the 16 kHz default:
// use sample_rate_hz() for the rate actually in use.
// A packet of frame_ms carries rate / 1000 * frame_ms * channels * 2 bytes; packets are
// 10..120 ms in steps of 10 ms. The decoder takes any whole number of sample frames.
#pragma once

#include <memory>

#include "parley/base/result.h"
#include "parley/codec/codec.h"

namespace parley::codec {

// Whether `sample_rate_hz` is one parley carries L16 at.
bool IsL16SampleRate(int sample_rate_hz);

// Registry factories. sample_rate_hz 0 (16000) or one of the rates above; channels 1 or
// 2; encoder frame_ms 0 or 10..120 in steps of 10; bitrate_bps 0 or rate * channels * 16.
Result<std::unique_ptr<AudioEncoder>> CreateL16Encoder(const EncoderConfig& config);
Result<std::unique_ptr<AudioDecoder>> CreateL16Decoder(const DecoderConfig& config);

}  // namespace parley::codec
