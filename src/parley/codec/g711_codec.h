// G.711 (ITU-T G.711, 1988) mu-law (PCMU, RTP PT 0) and A-law (PCMA, RTP PT 8) through
// spandsp, with the G.711 Appendix I style packet loss concealment of spandsp's plc.
//
// Audio: 8000 Hz mono. One byte per sample, so a packet of frame_ms carries 8 * frame_ms
// bytes; packets are 10..120 ms in steps of 10 ms. The decoder takes a payload of any
// length (one sample per byte), as RFC 3551 4.5.14 allows.
//
// Bit-exactness: codes decode to the G.711 reconstruction values (x4 for mu-law's 14-bit
// scale, x8 for A-law's 13-bit scale). int16 input is reduced to the G.711 uniform code
// as the ITU-T G.191 reference software does: the 14 (mu) or 13 (A) most significant
// bits, negative values by their ones' complement, so the quantiser is symmetric about
// -0.5 over the whole int16 range.
#pragma once

#include <memory>

#include "parley/base/result.h"
#include "parley/codec/codec.h"

namespace parley::codec {

// Registry factories. Encoder config: sample_rate_hz 0 or 8000, channels 1, frame_ms 0 or
// 10..120 in steps of 10, bitrate_bps 0 or 64000. Decoder config: sample_rate_hz 0 or
// 8000, channels 1.
Result<std::unique_ptr<AudioEncoder>> CreatePcmuEncoder(const EncoderConfig& config);
Result<std::unique_ptr<AudioDecoder>> CreatePcmuDecoder(const DecoderConfig& config);
Result<std::unique_ptr<AudioEncoder>> CreatePcmaEncoder(const EncoderConfig& config);
Result<std::unique_ptr<AudioDecoder>> CreatePcmaDecoder(const DecoderConfig& config);

}  // namespace parley::codec
