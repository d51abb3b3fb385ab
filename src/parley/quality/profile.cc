#include "parley/quality/profile.h"

#include <array>
#include <string>

namespace parley::quality {
namespace {

using codec::CodecId;

// Expected loss tunes how many bits libopus spends on LBRR; 10 % is where FEC starts to
// pay for itself on the links the ladder's lower rungs are for.
constexpr std::array kLadder = {
    Profile{"studio", "Opus fullband 64 kbps, 20 ms, no protection", CodecId::kOpus, 48000, 64000,
            20, false, 0, 0},
    Profile{"excellent", "Opus super-wideband 32 kbps, 20 ms, no protection", CodecId::kOpus, 24000,
            32000, 20, false, 0, 0},
    Profile{"good", "Opus wideband 24 kbps, 20 ms, in-band FEC (call start)", CodecId::kOpus, 16000,
            24000, 20, true, 10, 0},
    Profile{"degraded", "Opus wideband 12 kbps, 40 ms, in-band FEC + RED", CodecId::kOpus, 16000,
            12000, 40, true, 20, 1},
    Profile{"critical", "Opus narrowband 6 kbps, 60 ms, RED", CodecId::kOpus, 8000, 6000, 60, false,
            0, 1},
};

}  // namespace

std::span<const Profile> ProfileLadder() { return kLadder; }

Result<Profile> FindProfile(std::string_view name) {
  std::string names;
  for (const Profile& profile : kLadder) {
    if (profile.name == name) return profile;
    if (!names.empty()) names += ", ";
    names += profile.name;
  }
  return Error{"unknown profile '" + std::string(name) + "' (known: " + names + ")"};
}

codec::EncoderConfig EncoderConfigFor(const Profile& profile) {
  codec::EncoderConfig config;
  config.sample_rate_hz = profile.sample_rate_hz;
  config.channels = 1;
  config.frame_ms = profile.frame_ms;
  config.bitrate_bps = profile.bitrate_bps;
  config.fec = profile.fec;
  config.expected_loss_percent = profile.expected_loss_percent;
  return config;
}

}  // namespace parley::quality
