// G.722 (ITU-T G.722) sub-band ADPCM at 64 kbit/s through spandsp (RTP PT 9).
//
// Audio: 16000 Hz mono. The RTP clock is 8000 Hz (RFC 3551 4.5.2: an error in the
// original RFC 1890 kept for compatibility), so RTP timestamps advance by half the
// sample count; info().rtp_clock_rate_hz says 8000 and sample_rate_hz() says 16000.
// One byte carries two samples: a packet of frame_ms is 8 * frame_ms bytes and decodes
// to 16 * frame_ms samples. Packets are 10..120 ms in steps of 10 ms; the decoder takes
// a payload of any length.
#pragma once

#include <memory>

#include "parley/base/result.h"
#include "parley/codec/codec.h"

namespace parley::codec {

// Registry factories. Encoder config: sample_rate_hz 0 or 16000, channels 1, frame_ms 0
// or 10..120 in steps of 10, bitrate_bps 0 or 64000. Decoder config: sample_rate_hz 0 or
// 16000, channels 1.
Result<std::unique_ptr<AudioEncoder>> CreateG722Encoder(const EncoderConfig& config);
Result<std::unique_ptr<AudioDecoder>> CreateG722Decoder(const DecoderConfig& config);

}  // namespace parley::codec
