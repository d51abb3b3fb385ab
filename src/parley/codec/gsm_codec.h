// GSM 06.10 full rate through libgsm (RTP PT 3, RFC 3551 4.5.8).
//
// Audio: 8000 Hz mono. The native frame is 20 ms (160 samples) coded in 33 bytes
// (13.2 kbit/s); a packet of frame_ms (20..120 ms, steps of 20) carries frame_ms / 20
// frames back to back. Every frame starts with the signature nibble 0xD; the decoder
// rejects a payload whose length is not a multiple of 33 or whose frame lacks it.
#pragma once

#include <memory>

#include "parley/base/result.h"
#include "parley/codec/codec.h"

namespace parley::codec {

// Registry factories. Encoder config: sample_rate_hz 0 or 8000, channels 1, frame_ms 0 or
// 20..120 in steps of 20, bitrate_bps 0 or 13200. Decoder config: sample_rate_hz 0 or
// 8000, channels 1.
Result<std::unique_ptr<AudioEncoder>> CreateGsmEncoder(const EncoderConfig& config);
Result<std::unique_ptr<AudioDecoder>> CreateGsmDecoder(const DecoderConfig& config);

}  // namespace parley::codec
