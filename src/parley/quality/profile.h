// The profile ladder: what a sender encodes with at each quality level, as data.
// The relay's quality judge moves a link up and down this ladder; the lab encodes with
// any rung (`parley lab --profile degraded`).
//
//   profile    codec  audio band        bitrate  frame  protection
//   studio     Opus   fullband 48 kHz   64 kbps  20 ms  none
//   excellent  Opus   super-wide 24 kHz 32 kbps  20 ms  none
//   good       Opus   wideband 16 kHz   24 kbps  20 ms  in-band FEC
//   degraded   Opus   wideband 16 kHz   12 kbps  40 ms  in-band FEC + RED
//   critical   Opus   narrowband 8 kHz   6 kbps  60 ms  RED
//
// The audio band is the encoder's input rate: libopus codes no more bandwidth than its
// input carries, so a 16 kHz encoder is wideband.
#pragma once

#include <span>
#include <string_view>

#include "parley/base/result.h"
#include "parley/codec/codec.h"

namespace parley::quality {

struct Profile {
  std::string_view name;
  std::string_view description;
  codec::CodecId codec = codec::CodecId::kOpus;
  int sample_rate_hz = 48000;  // encoder input rate (sets the audio band)
  int bitrate_bps = 0;
  int frame_ms = 20;
  bool fec = false;               // Opus in-band FEC (LBRR)
  int expected_loss_percent = 0;  // tunes the FEC strength
  int red_blocks = 0;             // RFC 2198 redundant copies of earlier frames (0: no RED)
};

// The rungs, best first; "good" is where a call starts.
std::span<const Profile> ProfileLadder();
// The rung called `name`, or an Error listing the names.
Result<Profile> FindProfile(std::string_view name);
// The encoder settings of a rung (mono).
codec::EncoderConfig EncoderConfigFor(const Profile& profile);

}  // namespace parley::quality
