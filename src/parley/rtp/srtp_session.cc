#include "parley/rtp/srtp_session.h"

#include <fmt/format.h>
#include <srtp2/srtp.h>

#include <climits>
#include <cstring>
#include <mutex>

#include "parley/rtp/big_endian.h"

namespace parley::rtp {
namespace {

static_assert(kSrtpMaxRtpOverheadBytes == SRTP_MAX_TRAILER_LEN);
static_assert(kSrtpMaxRtcpOverheadBytes == SRTP_MAX_TRAILER_LEN + 4);
static_assert(kSrtpMasterKeyBytes == SRTP_AES_128_KEY_LEN);

constexpr size_t kAesCmSaltBytes = SRTP_SALT_LEN;        // 14
constexpr size_t kAesGcmSaltBytes = SRTP_AEAD_SALT_LEN;  // 12
constexpr size_t kHmacSha1_80TagBytes = 10;
constexpr size_t kGcmTagBytes = 16;
constexpr size_t kSrtcpIndexBytes = 4;
// libsrtp's replay window, in packets (RFC 3711 §3.3.2 asks for at least 64).
constexpr unsigned long kReplayWindowPackets = 128;

// srtp_init() must run once per process before any context is made.
srtp_err_status_t InitLibrary() {
  static std::once_flag once;
  static srtp_err_status_t status = srtp_err_status_ok;
  std::call_once(once, [] { status = srtp_init(); });
  return status;
}

// Counts a failure by its reason.
void Count(SrtpStats& stats, srtp_err_status_t status) {
  switch (status) {
    case srtp_err_status_auth_fail:
      ++stats.auth_failures;
      break;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      ++stats.replays;
      break;
    default:
      ++stats.other_failures;
      break;
  }
}

// The Error of a failure already counted.
Error Describe(const char* what, srtp_err_status_t status, size_t bytes) {
  const char* reason = "error";
  switch (status) {
    case srtp_err_status_auth_fail:
      reason = "authentication failed";
      break;
    case srtp_err_status_replay_fail:
      reason = "replay";
      break;
    case srtp_err_status_replay_old:
      reason = "replay (older than window)";
      break;
    default:
      break;
  }
  return Error{fmt::format("{} of {} bytes rejected: {} (libsrtp status {})", what, bytes, reason,
                           static_cast<int>(status))};
}

// Standard base64 (RFC 4648 §4) with padding, as SDES uses; returns bytes or -1.
int DecodeBase64(std::string_view text, std::span<uint8_t> out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return -1;
  size_t n = 0;
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pads = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + static_cast<size_t>(k)];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++pads;
      } else {
        if (pads > 0) return -1;
        v[k] = value(c);
        if (v[k] < 0) return -1;
      }
    }
    const uint32_t bits =
        (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    const int bytes = 3 - pads;
    for (int k = 0; k < bytes; ++k) {
      if (n == out.size()) return -1;
      out[n++] = static_cast<uint8_t>(bits >> (16 - 8 * k));
    }
  }
  return static_cast<int>(n);
}

}  // namespace

std::string_view SrtpProfileName(SrtpProfile profile) {
  return profile == SrtpProfile::kAesCm128HmacSha1_80 ? "AES_CM_128_HMAC_SHA1_80"
                                                      : "AEAD_AES_128_GCM";
}

std::optional<SrtpProfile> SrtpProfileFromName(std::string_view name) {
  for (SrtpProfile profile : {SrtpProfile::kAesCm128HmacSha1_80, SrtpProfile::kAeadAes128Gcm}) {
    if (name == SrtpProfileName(profile)) return profile;
  }
  return std::nullopt;
}

size_t SrtpMasterSaltBytes(SrtpProfile profile) {
  return profile == SrtpProfile::kAesCm128HmacSha1_80 ? kAesCmSaltBytes : kAesGcmSaltBytes;
}

size_t SrtpRtpOverheadBytes(SrtpProfile profile) {
  return profile == SrtpProfile::kAesCm128HmacSha1_80 ? kHmacSha1_80TagBytes : kGcmTagBytes;
}

size_t SrtpRtcpOverheadBytes(SrtpProfile profile) {
  return SrtpRtpOverheadBytes(profile) + kSrtcpIndexBytes;
}

Result<SrtpKeyMaterial> MakeSrtpKeyMaterial(SrtpProfile profile, std::span<const uint8_t> key,
                                            std::span<const uint8_t> salt) {
  const size_t salt_bytes = SrtpMasterSaltBytes(profile);
  if (key.size() != kSrtpMasterKeyBytes || salt.size() != salt_bytes) {
    return Error{fmt::format("{}: master key {} bytes / salt {} bytes, expected {} / {}",
                             SrtpProfileName(profile), key.size(), salt.size(), kSrtpMasterKeyBytes,
                             salt_bytes)};
  }
  SrtpKeyMaterial material;
  material.profile = profile;
  std::memcpy(material.bytes.data(), key.data(), key.size());
  std::memcpy(material.bytes.data() + key.size(), salt.data(), salt.size());
  material.size = key.size() + salt.size();
  return material;
}

Result<SrtpKeyMaterial> MakeSrtpKeyMaterial(std::string_view suite,
                                            std::span<const uint8_t> key_then_salt) {
  const std::optional<SrtpProfile> profile = SrtpProfileFromName(suite);
  if (!profile) {
    return Error{
        fmt::format("SRTP suite '{}' unknown (AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM)", suite)};
  }
  const size_t expected = kSrtpMasterKeyBytes + SrtpMasterSaltBytes(*profile);
  if (key_then_salt.size() != expected) {
    return Error{fmt::format("{}: key and salt {} bytes, expected {}", suite, key_then_salt.size(),
                             expected)};
  }
  return MakeSrtpKeyMaterial(*profile, key_then_salt.first(kSrtpMasterKeyBytes),
                             key_then_salt.subspan(kSrtpMasterKeyBytes));
}

Result<SrtpKeyMaterial> ParseSdesInlineKey(SrtpProfile profile, std::string_view key_params) {
  constexpr std::string_view kPrefix = "inline:";
  if (key_params.substr(0, kPrefix.size()) != kPrefix) {
    return Error{"SDES key-params must start with \"inline:\" at offset 0"};
  }
  std::string_view rest = key_params.substr(kPrefix.size());
  const size_t bar = rest.find('|');
  const std::string_view base64 = rest.substr(0, bar);
  if (bar != std::string_view::npos) {
    // "|lifetime" may follow; "|MKI:length" has a colon.
    const std::string_view options = rest.substr(bar + 1);
    if (options.find(':') != std::string_view::npos) {
      return Error{
          fmt::format("SDES key-params MKI at offset {} not supported", kPrefix.size() + bar + 1)};
    }
  }
  SrtpKeyMaterial material;
  const int decoded = DecodeBase64(base64, material.bytes);
  const size_t expected = kSrtpMasterKeyBytes + SrtpMasterSaltBytes(profile);
  if (decoded < 0) {
    return Error{fmt::format("SDES key-params: invalid base64 at offset {}", kPrefix.size())};
  }
  if (static_cast<size_t>(decoded) != expected) {
    return Error{fmt::format("SDES key-params: {} key bytes at offset {}, {} expects {}", decoded,
                             kPrefix.size(), SrtpProfileName(profile), expected)};
  }
  material.profile = profile;
  material.size = expected;
  return material;
}

namespace internal {

Result<SrtpContext> SrtpContext::Create(Direction direction, const SrtpKeyMaterial& key) {
  if (key.size != kSrtpMasterKeyBytes + SrtpMasterSaltBytes(key.profile)) {
    return Error{fmt::format("{}: key material {} bytes, expected {}", SrtpProfileName(key.profile),
                             key.size, kSrtpMasterKeyBytes + SrtpMasterSaltBytes(key.profile))};
  }
  if (const srtp_err_status_t status = InitLibrary(); status != srtp_err_status_ok) {
    return Error{fmt::format("srtp_init failed (libsrtp status {})", static_cast<int>(status))};
  }
  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof(policy));
  if (key.profile == SrtpProfile::kAesCm128HmacSha1_80) {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
  } else {
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
  }
  policy.ssrc.type = direction == Direction::kInbound ? ssrc_any_inbound : ssrc_any_outbound;
  // libsrtp derives the session keys inside srtp_create and keeps no pointer to this copy.
  std::array<uint8_t, 32> key_copy = key.bytes;
  policy.key = key_copy.data();
  policy.window_size = kReplayWindowPackets;
  policy.allow_repeat_tx = 0;
  policy.next = nullptr;
  srtp_t ctx = nullptr;
  if (const srtp_err_status_t status = srtp_create(&ctx, &policy); status != srtp_err_status_ok) {
    return Error{fmt::format("{}: srtp_create failed (libsrtp status {})",
                             SrtpProfileName(key.profile), static_cast<int>(status))};
  }
  return SrtpContext(ctx, key.profile);
}

SrtpContext::SrtpContext(SrtpContext&& other) noexcept
    : ctx_(other.ctx_), profile_(other.profile_) {
  other.ctx_ = nullptr;
}

SrtpContext& SrtpContext::operator=(SrtpContext&& other) noexcept {
  if (this != &other) {
    if (ctx_ != nullptr) srtp_dealloc(ctx_);
    ctx_ = other.ctx_;
    profile_ = other.profile_;
    other.ctx_ = nullptr;
  }
  return *this;
}

SrtpContext::~SrtpContext() {
  if (ctx_ != nullptr) srtp_dealloc(ctx_);
}

}  // namespace internal

namespace {

using Direction = internal::SrtpContext::Direction;

// What one call did: the new length, or why it was refused (room false: the buffer lacks
// the tail room, found before libsrtp is called; otherwise libsrtp's status).
struct Outcome {
  srtp_err_status_t status = srtp_err_status_ok;
  bool room = true;
  size_t length = 0;
};

// Shared by every call: libsrtp takes the length as int, in and out. Counts the outcome.
template <typename Fn>
Outcome Run(Fn fn, srtp_t ctx, std::span<uint8_t> buffer, size_t packet_bytes, size_t tail_room,
            SrtpStats& stats, uint64_t& counter) {
  if (packet_bytes > buffer.size() || buffer.size() - packet_bytes < tail_room ||
      buffer.size() > static_cast<size_t>(INT_MAX)) {
    ++stats.other_failures;
    return Outcome{srtp_err_status_bad_param, false, 0};
  }
  int length = static_cast<int>(packet_bytes);
  const srtp_err_status_t status = fn(ctx, buffer.data(), &length);
  if (status != srtp_err_status_ok) {
    Count(stats, status);
    return Outcome{status, true, 0};
  }
  ++counter;
  return Outcome{srtp_err_status_ok, true, static_cast<size_t>(length)};
}

Result<size_t> AsResult(const Outcome& outcome, const char* what, std::span<uint8_t> buffer,
                        size_t packet_bytes, size_t tail_room) {
  if (!outcome.room) {
    return Error{fmt::format("{}: buffer {} bytes < packet {} + tail room {}", what, buffer.size(),
                             packet_bytes, tail_room)};
  }
  if (outcome.status != srtp_err_status_ok) return Describe(what, outcome.status, packet_bytes);
  return outcome.length;
}

std::optional<size_t> AsOptional(const Outcome& outcome) {
  if (!outcome.room || outcome.status != srtp_err_status_ok) return std::nullopt;
  return outcome.length;
}

}  // namespace

Result<SrtpOutboundSession> SrtpOutboundSession::Create(const SrtpKeyMaterial& key) {
  Result<internal::SrtpContext> context = internal::SrtpContext::Create(Direction::kOutbound, key);
  if (!context) return context.error();
  return SrtpOutboundSession(std::move(context).value());
}

Result<size_t> SrtpOutboundSession::ProtectRtp(std::span<uint8_t> buffer, size_t packet_bytes) {
  const Outcome outcome = Run(srtp_protect, context_.get(), buffer, packet_bytes,
                              kSrtpMaxRtpOverheadBytes, stats_, stats_.rtp_packets);
  return AsResult(outcome, "SRTP protect", buffer, packet_bytes, kSrtpMaxRtpOverheadBytes);
}

Result<size_t> SrtpOutboundSession::ProtectRtcp(std::span<uint8_t> buffer, size_t packet_bytes) {
  const Outcome outcome = Run(srtp_protect_rtcp, context_.get(), buffer, packet_bytes,
                              kSrtpMaxRtcpOverheadBytes, stats_, stats_.rtcp_packets);
  return AsResult(outcome, "SRTCP protect", buffer, packet_bytes, kSrtpMaxRtcpOverheadBytes);
}

std::optional<size_t> SrtpOutboundSession::TryProtectRtp(std::span<uint8_t> buffer,
                                                         size_t packet_bytes) {
  return AsOptional(Run(srtp_protect, context_.get(), buffer, packet_bytes,
                        kSrtpMaxRtpOverheadBytes, stats_, stats_.rtp_packets));
}

std::optional<size_t> SrtpOutboundSession::TryProtectRtcp(std::span<uint8_t> buffer,
                                                          size_t packet_bytes) {
  return AsOptional(Run(srtp_protect_rtcp, context_.get(), buffer, packet_bytes,
                        kSrtpMaxRtcpOverheadBytes, stats_, stats_.rtcp_packets));
}

Result<SrtpInboundSession> SrtpInboundSession::Create(const SrtpKeyMaterial& key) {
  Result<internal::SrtpContext> context = internal::SrtpContext::Create(Direction::kInbound, key);
  if (!context) return context.error();
  return SrtpInboundSession(std::move(context).value());
}

Result<size_t> SrtpInboundSession::UnprotectRtp(std::span<uint8_t> packet) {
  const Outcome outcome =
      Run(srtp_unprotect, context_.get(), packet, packet.size(), 0, stats_, stats_.rtp_packets);
  return AsResult(outcome, "SRTP unprotect", packet, packet.size(), 0);
}

Result<size_t> SrtpInboundSession::UnprotectRtcp(std::span<uint8_t> packet) {
  const Outcome outcome = Run(srtp_unprotect_rtcp, context_.get(), packet, packet.size(), 0, stats_,
                              stats_.rtcp_packets);
  return AsResult(outcome, "SRTCP unprotect", packet, packet.size(), 0);
}

std::optional<size_t> SrtpInboundSession::TryUnprotectRtp(std::span<uint8_t> packet) {
  return AsOptional(
      Run(srtp_unprotect, context_.get(), packet, packet.size(), 0, stats_, stats_.rtp_packets));
}

std::optional<size_t> SrtpInboundSession::TryUnprotectRtcp(std::span<uint8_t> packet) {
  return AsOptional(Run(srtp_unprotect_rtcp, context_.get(), packet, packet.size(), 0, stats_,
                        stats_.rtcp_packets));
}

bool SrtpInboundSession::RemoveSsrc(uint32_t ssrc) {
  // libsrtp keys its streams by the SSRC as the packet carries it: network byte order.
  std::array<uint8_t, 4> wire;
  WriteBe32(wire.data(), ssrc);
  uint32_t key = 0;
  std::memcpy(&key, wire.data(), wire.size());
  return srtp_remove_stream(context_.get(), key) == srtp_err_status_ok;
}

}  // namespace parley::rtp
