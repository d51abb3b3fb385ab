// SRTP and SRTCP (RFC 3711, RFC 7714) over libsrtp2, in place on the caller's buffer.
//
// Two profiles, as negotiated by DTLS-SRTP or SDES:
//
//   profile                   master key  master salt  RTP tag  RTCP trailer
//   AES_CM_128_HMAC_SHA1_80   16 bytes    14 bytes     10       4 (E|index) + 10
//   AEAD_AES_128_GCM          16 bytes    12 bytes     16       16 + 4 (E|index)
//
// A session protects (SrtpOutboundSession) or unprotects (SrtpInboundSession) every SSRC
// of one direction with one master key. The inbound side keeps libsrtp's replay window
// (128 packets) on: a packet seen before, or too old for the window, is rejected.
// A packet that fails authentication, replay checking or parsing is never decrypted
// for the caller: the call returns an Error, the reason is counted in stats(), and the
// buffer's contents are then unspecified.
//
// Threading: one session per thread at a time (libsrtp contexts are not locked); sessions
// are independent. The library is initialised once per process, on first Create.
// No allocation per packet, except libsrtp's stream for an SSRC seen for the first time
// and the message of an Error; the Try* calls make no message (a packet path that only
// counts its rejections uses them).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "parley/base/result.h"

struct srtp_ctx_t_;

namespace parley::rtp {

enum class SrtpProfile { kAesCm128HmacSha1_80, kAeadAes128Gcm };

// The suite names signaling and SDES use: "AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM".
std::string_view SrtpProfileName(SrtpProfile profile);
// The profile a suite name names; nullopt for any other name.
std::optional<SrtpProfile> SrtpProfileFromName(std::string_view name);

inline constexpr size_t kSrtpMasterKeyBytes = 16;
// The master salt is 14 bytes for AES-CM (RFC 3711) and 12 for AES-GCM (RFC 7714).
size_t SrtpMasterSaltBytes(SrtpProfile profile);
// Bytes ProtectRtp() adds to a packet (the authentication tag): 10 or 16.
size_t SrtpRtpOverheadBytes(SrtpProfile profile);
// Bytes ProtectRtcp() adds (tag and the 4-byte E|SRTCP index word): 14 or 20.
size_t SrtpRtcpOverheadBytes(SrtpProfile profile);
// Tail room every protect call requires beyond the packet, whatever the profile: libsrtp
// may write up to its maximum trailer (tag + MKI, + 4 for RTCP) before trimming.
inline constexpr size_t kSrtpMaxRtpOverheadBytes = 16 + 128;  // SRTP_MAX_TRAILER_LEN
inline constexpr size_t kSrtpMaxRtcpOverheadBytes = 16 + 128 + 4;

// A master key and salt, as bytes (key first, then salt, as SDES and DTLS-SRTP give them).
struct SrtpKeyMaterial {
  SrtpProfile profile = SrtpProfile::kAesCm128HmacSha1_80;
  std::array<uint8_t, 32> bytes{};  // key (16) then salt (14 or 12)
  size_t size = 0;

  std::span<const uint8_t> key() const { return {bytes.data(), kSrtpMasterKeyBytes}; }
  std::span<const uint8_t> salt() const {
    return {bytes.data() + kSrtpMasterKeyBytes, size - kSrtpMasterKeyBytes};
  }

  // Same profile and bytes (the bytes past `size` are always zero).
  friend bool operator==(const SrtpKeyMaterial&, const SrtpKeyMaterial&) = default;
};

// Key material from a key and salt of the profile's lengths; Error on any other length.
[[nodiscard]] Result<SrtpKeyMaterial> MakeSrtpKeyMaterial(SrtpProfile profile,
                                                          std::span<const uint8_t> key,
                                                          std::span<const uint8_t> salt);
// Key material from a suite name (SrtpProfileName) and the master key followed by the
// master salt, as the relay's `joined` carries them. Error: an unknown suite, or a length
// that is not the suite's key + salt.
[[nodiscard]] Result<SrtpKeyMaterial> MakeSrtpKeyMaterial(std::string_view suite,
                                                          std::span<const uint8_t> key_then_salt);
// Key material from an SDES key-params value (RFC 4568 §6.1): "inline:<base64>" optionally
// followed by "|lifetime" and "|MKI:length", which are ignored (MKI is not supported: an
// MKI field is an Error). The base64 must decode to key + salt of the profile's lengths.
[[nodiscard]] Result<SrtpKeyMaterial> ParseSdesInlineKey(SrtpProfile profile,
                                                         std::string_view key_params);

// Why packets were rejected, and how many went through.
struct SrtpStats {
  uint64_t rtp_packets = 0;  // protected or unprotected successfully
  uint64_t rtcp_packets = 0;
  uint64_t auth_failures = 0;   // tag mismatch: tampered, wrong key, or not SRTP at all
  uint64_t replays = 0;         // seen before, or older than the replay window
  uint64_t other_failures = 0;  // malformed header, too short, buffer too small, ...
};

namespace internal {
// The srtp_t both directions own; not for direct use.
class SrtpContext {
 public:
  enum class Direction { kInbound, kOutbound };
  static Result<SrtpContext> Create(Direction direction, const SrtpKeyMaterial& key);
  SrtpContext(SrtpContext&& other) noexcept;
  SrtpContext& operator=(SrtpContext&& other) noexcept;
  SrtpContext(const SrtpContext&) = delete;
  SrtpContext& operator=(const SrtpContext&) = delete;
  ~SrtpContext();

  srtp_ctx_t_* get() const { return ctx_; }
  SrtpProfile profile() const { return profile_; }

 private:
  SrtpContext(srtp_ctx_t_* ctx, SrtpProfile profile) : ctx_(ctx), profile_(profile) {}
  // Allocated by this.
  srtp_ctx_t_* ctx_ = nullptr;
  SrtpProfile profile_;
};
}  // namespace internal

// Encrypts and authenticates outgoing RTP and RTCP. Movable, not copyable.
class SrtpOutboundSession {
 public:
  [[nodiscard]] static Result<SrtpOutboundSession> Create(const SrtpKeyMaterial& key);

  // `buffer` holds an RTP packet of `packet_bytes` at its start and at least
  // kSrtpMaxRtpOverheadBytes more. Returns the SRTP packet's length (packet_bytes +
  // SrtpRtpOverheadBytes()). Errors: buffer too small, malformed RTP header, a sequence
  // number sent before (libsrtp refuses to reuse a keystream).
  [[nodiscard]] Result<size_t> ProtectRtp(std::span<uint8_t> buffer, size_t packet_bytes);
  // The same for a (compound) RTCP packet; needs kSrtpMaxRtcpOverheadBytes of tail room.
  [[nodiscard]] Result<size_t> ProtectRtcp(std::span<uint8_t> buffer, size_t packet_bytes);
  // As above, nullopt instead of an Error (the reason is counted in stats() all the same).
  [[nodiscard]] std::optional<size_t> TryProtectRtp(std::span<uint8_t> buffer, size_t packet_bytes);
  [[nodiscard]] std::optional<size_t> TryProtectRtcp(std::span<uint8_t> buffer,
                                                     size_t packet_bytes);

  SrtpProfile profile() const { return context_.profile(); }
  const SrtpStats& stats() const { return stats_; }

 private:
  explicit SrtpOutboundSession(internal::SrtpContext context) : context_(std::move(context)) {}
  // Allocated by this.
  internal::SrtpContext context_;
  // Others.
  SrtpStats stats_;
};

// Authenticates, replay-checks and decrypts incoming SRTP and SRTCP. Movable, not copyable.
class SrtpInboundSession {
 public:
  [[nodiscard]] static Result<SrtpInboundSession> Create(const SrtpKeyMaterial& key);

  // Unprotects the SRTP packet filling `packet` in place. Returns the RTP packet's length
  // (shorter by the tag). On Error the packet was rejected and counted in stats().
  [[nodiscard]] Result<size_t> UnprotectRtp(std::span<uint8_t> packet);
  [[nodiscard]] Result<size_t> UnprotectRtcp(std::span<uint8_t> packet);
  // As above, nullopt instead of an Error (the reason is counted in stats() all the same).
  [[nodiscard]] std::optional<size_t> TryUnprotectRtp(std::span<uint8_t> packet);
  [[nodiscard]] std::optional<size_t> TryUnprotectRtcp(std::span<uint8_t> packet);
  // Forgets the stream of `ssrc` (its replay windows and rollover counter, and the memory
  // libsrtp holds for it): for a sender that has gone, so that the session holds streams
  // only for the senders present. A later packet of that SSRC starts a new stream. False
  // when the session has no stream for it.
  bool RemoveSsrc(uint32_t ssrc);

  SrtpProfile profile() const { return context_.profile(); }
  const SrtpStats& stats() const { return stats_; }

 private:
  explicit SrtpInboundSession(internal::SrtpContext context) : context_(std::move(context)) {}
  // Allocated by this.
  internal::SrtpContext context_;
  // Others.
  SrtpStats stats_;
};

}  // namespace parley::rtp
