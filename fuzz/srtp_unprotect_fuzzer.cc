// SRTP/SRTCP packets come from anyone on the path: unprotecting arbitrary bytes with a
// fixed key must reject them cleanly (an attacker cannot forge the tag), never crash.
// The first input byte picks the profile and RTP or RTCP.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "parley/rtp/srtp_session.h"

namespace {

using namespace parley::rtp;

// One session per profile for the whole run: creating one costs more than the unprotect
// itself, and since no input authenticates, no input changes a session's replay state.
SrtpInboundSession& Session(SrtpProfile profile) {
  auto make = [](SrtpProfile p) {
    static const std::vector<uint8_t> kKey(kSrtpMasterKeyBytes, 0x5A);
    static const std::vector<uint8_t> kSalt(14, 0xA5);
    auto key =
        MakeSrtpKeyMaterial(p, kKey, std::span<const uint8_t>(kSalt).first(SrtpMasterSaltBytes(p)));
    if (!key) std::abort();
    auto session = SrtpInboundSession::Create(*key);
    if (!session) std::abort();
    return std::move(session).value();
  };
  static SrtpInboundSession cm = make(SrtpProfile::kAesCm128HmacSha1_80);
  static SrtpInboundSession gcm = make(SrtpProfile::kAeadAes128Gcm);
  return profile == SrtpProfile::kAeadAes128Gcm ? gcm : cm;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool gcm = (data[0] & 1) != 0;
  const bool rtcp = (data[0] & 2) != 0;
  SrtpInboundSession& session =
      Session(gcm ? SrtpProfile::kAeadAes128Gcm : SrtpProfile::kAesCm128HmacSha1_80);
  std::vector<uint8_t> packet(data + 1, data + size);
  auto result = rtcp ? session.UnprotectRtcp(packet) : session.UnprotectRtp(packet);
  if (result.ok()) std::abort();  // a forgery
  return 0;
}
