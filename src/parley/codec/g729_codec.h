// G.729 Annex A through bcg729 (RTP PT 18, RFC 3551 4.5.6).
//
// Audio: 8000 Hz mono. The native frame is 10 ms (80 samples) coded in 10 bytes; a
// packet of frame_ms (10..120 ms, steps of 10) carries frame_ms / 10 frames back to back.
//
// DTX (EncoderConfig::dtx): enables bcg729's Annex B VAD. Silent frames are then either
// not sent or sent as a 2-byte SID (comfort noise) frame. RFC 3551 allows a SID frame
// only as the last frame of a packet, so the encoder sends the voice frames of a packet
// followed by at most one SID; a packet with nothing to send is 0 bytes. When speech
// starts inside a multi-frame packet, its first voice frame is sent at the packet's
// timestamp, up to frame_ms - 10 ms early (the RTP layout cannot express a leading gap).
// The SDP for DTX is "annexb=yes"; the registry default is "annexb=no".
//
// Decoder: payload = n * 10 bytes of voice frames, optionally followed by one 2-byte SID
// frame; anything else is an Error. Conceal() runs G.729's frame erasure concealment (or
// continues comfort noise after a SID), in whole 10 ms frames.
#pragma once

#include <memory>

#include "parley/base/result.h"
#include "parley/codec/codec.h"

namespace parley::codec {

// Registry factories. Encoder config: sample_rate_hz 0 or 8000, channels 1, frame_ms 0 or
// 10..120 in steps of 10, bitrate_bps 0 or 8000, dtx. Decoder config: sample_rate_hz 0
// or 8000, channels 1.
Result<std::unique_ptr<AudioEncoder>> CreateG729Encoder(const EncoderConfig& config);
Result<std::unique_ptr<AudioDecoder>> CreateG729Decoder(const DecoderConfig& config);

}  // namespace parley::codec
