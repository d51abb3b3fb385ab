// Join tokens: who may enter which room, until when, with which rights; signed by whoever
// holds the relay's secret (`parley token`, or an application's backend).
//
//   token  = base64url(claims JSON) "." base64url(HMAC-SHA256(secret, first part))
//
// both parts without '=' padding; the MAC covers the first part's characters exactly as
// sent. The claims are a JSON object with exactly these keys, written in this order:
//
//   {"v":1,"room":"standup","sub":"alice","exp":1767225600,"rights":["publish","subscribe"]}
//
//   v       token format version, 1
//   room    the one room the token admits to (a name, see validation.h)
//   sub     the participant's identity (a name)
//   exp     expiry, Unix seconds: the token is accepted while now <= exp (no leeway)
//   rights  any of "publish" (send media), "subscribe" (receive media), "admin" (manage
//           the room), each at most once, in that order when minted
//
// VerifyToken checks, in order, and stops at the first failure:
//   kMissing    the token is empty
//   kMalformed  not two canonical base64url parts, longer than kMaxTokenChars, a MAC that
//               is not 32 bytes; or authentic claims that are not the JSON above (a token
//               minted by a newer or broken minter)
//   kForged     the MAC does not match: altered, or signed with another secret. Compared
//               in constant time (CRYPTO_memcmp)
//   kWrongRoom  authentic, but for another room
//   kExpired    authentic and for this room, but now > exp
// Claims are parsed only after the MAC has matched, so text from someone without the
// secret never reaches the JSON parser.
//
// Secrets are byte strings of at least kMinSecretBytes; a shorter one passed to
// MintToken or VerifyToken is API misuse (std::invalid_argument): configuration code
// checks the length first and reports it (relay_config.h).
//
// Pure functions; thread-safe. The MAC is OpenSSL's HMAC with SHA-256 (EVP_Q_mac).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/result.h"

namespace parley::session {

inline constexpr int kTokenVersion = 1;
// A secret shorter than this is refused: HMAC-SHA256's strength needs a 256-bit key.
inline constexpr size_t kMinSecretBytes = 32;
// Longest token accepted. A minted token is at most about 350 characters (names of 64).
inline constexpr size_t kMaxTokenChars = 1024;

// What a token lets its holder do: a set of bit flags.
enum class Rights : uint8_t {
  kNone = 0,
  kPublish = 1 << 0,    // send media into the room
  kSubscribe = 1 << 1,  // receive the room's media
  kAdmin = 1 << 2,      // manage the room (remove participants, start recordings)
};
constexpr Rights operator|(Rights a, Rights b) {
  return static_cast<Rights>(static_cast<uint8_t>(a) | static_cast<uint8_t>(b));
}
constexpr Rights operator&(Rights a, Rights b) {
  return static_cast<Rights>(static_cast<uint8_t>(a) & static_cast<uint8_t>(b));
}
// True when `granted` includes every right of `wanted`.
constexpr bool HasRights(Rights granted, Rights wanted) { return (granted & wanted) == wanted; }

// Rights from their names ("publish", "subscribe", "admin"), e.g. from a command line.
// Error names the entry: "rights[2]: unknown right 'owner' (publish, subscribe, admin)";
// a right named twice is an Error too.
[[nodiscard]] Result<Rights> ParseRights(std::span<const std::string> names);
// The names of `rights`, in the order publish, subscribe, admin.
std::vector<std::string_view> RightNames(Rights rights);

struct TokenClaims {
  std::string room;            // a name (validation.h)
  std::string identity;        // a name; "sub" in the JSON
  int64_t expires_unix_s = 0;  // accepted while now <= expires_unix_s
  Rights rights = Rights::kNone;

  friend bool operator==(const TokenClaims&, const TokenClaims&) = default;
};

// Why a token was refused. A server maps these to its own error codes (signaling.h:
// ErrorCodeFor) and may send `TokenCheck::message` to the client.
enum class TokenError {
  kMissing,
  kMalformed,
  kForged,
  kWrongRoom,
  kExpired,
};
// "missing", "malformed", "forged", "wrong_room", "expired".
std::string_view TokenErrorName(TokenError error);

// The outcome of VerifyToken: the claims when accepted, otherwise why not.
struct [[nodiscard]] TokenCheck {
  std::optional<TokenClaims> claims;        // set when and only when the token is accepted
  TokenError error = TokenError::kMissing;  // meaningful only when !ok()
  std::string message;  // one line naming the problem; empty when accepted. Never contains
                        // the secret or the MAC; safe to send to the token's holder

  bool ok() const { return claims.has_value(); }
};

// The token for `claims`. Throws std::invalid_argument when the secret is shorter than
// kMinSecretBytes or the room or identity is not a name (validation.h).
std::string MintToken(const TokenClaims& claims, std::string_view secret);

// Checks `token` for `room` at `now_unix_s`; see the order of checks above. Never throws
// on any token text; throws std::invalid_argument when the secret is shorter than
// kMinSecretBytes.
TokenCheck VerifyToken(std::string_view token, std::string_view secret, std::string_view room,
                       int64_t now_unix_s);

// HMAC-SHA256 of `message` under `key` (any length). Exposed for known-answer tests.
std::array<uint8_t, 32> HmacSha256(std::string_view key, std::string_view message);

}  // namespace parley::session
