// The relay's signaling protocol, version 1: JSON text messages over a WebSocket, one
// message per WebSocket text frame. docs/protocol.md ("Signaling") describes each message
// with an example; this header is the contract of the code.
//
//   client                                   relay
//     | --- join {room, token, ssrc, capabilities} -->|  token checked (token.h)
//     | <-- joined {participant_id, media, peers} ----|  or error {code, message}
//     | <-- peer_joined / peer_left ------------------|  as others come and go
//     | --- leave {} -------------------------------->|
//
// Every message is a JSON object with "v": 1 and "type". Parsing is strict, so a client
// bug shows at once rather than as a silently ignored field:
// - at most kMaxMessageBytes of text, nested at most kMaxJsonDepth deep (checked before
//   the JSON parser runs, so a hostile message cannot make parsing deep or slow);
// - "v" must be 1 (unsupported_version otherwise), "type" one of this version's types
//   for that direction (unsupported_type otherwise, including the reserved quality types
//   below until they are implemented);
// - every field has its type and range; a missing required field, an unknown field or a
//   value out of range is an Error naming the field: "join.ssrc: expected an unsigned
//   32-bit integer", "join.capabilities.codecs[2].payload_type: expected an integer
//   0..127 (got 128)".
// Parsers never throw and never crash on any text; strings of the peer's that appear in
// an Error are quoted with validation.h's Quote.
//
// Serialize writes compact JSON, "v" and "type" first, and throws std::invalid_argument
// when the message breaks a rule the parser enforces (API misuse): whatever Serialize
// writes, the matching Parse reads back as an equal message.
//
// Reserved for the quality messages (the relay's quality judge), not parsed in version 1:
// relay -> client "quality_directive", "upgrade_proposal", "upgrade_confirm";
// client -> relay "upgrade_accept", "upgrade_reject".
//
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "parley/base/result.h"
#include "parley/session/token.h"

namespace parley::session {

inline constexpr int kSignalingVersion = 1;
inline constexpr size_t kMaxMessageBytes = 16 * 1024;
// Deepest nesting of objects and arrays; version 1 messages need 4.
inline constexpr int kMaxJsonDepth = 8;
inline constexpr size_t kMaxCodecs = 16;
inline constexpr size_t kMaxProfiles = 16;
// Codec names are short names ("opus", "PCMU", "telephone-event").
inline constexpr size_t kMaxCodecNameChars = 32;
// Participants in one room at most, whatever the relay's configuration: the `joined` of
// the last one lists the 99 others, which with 64-character identities is about 13 KB,
// inside kMaxMessageBytes.
inline constexpr size_t kMaxRoomParticipants = 100;
// Peers listed in `joined`: the room's other participants.
inline constexpr size_t kMaxPeers = kMaxRoomParticipants - 1;
inline constexpr size_t kMaxErrorMessageBytes = 1024;
inline constexpr size_t kHelloSecretBytes = 16;

// Names of the types reserved for the quality messages; ParseClientMessage and
// ParseRelayMessage refuse them as unsupported in version 1.
std::span<const std::string_view> ReservedMessageTypes();

// ---- client -> relay -------------------------------------------------------------------

// A codec the client can send and receive, as RTP describes it.
struct CodecCapability {
  std::string name;            // 1..kMaxCodecNameChars of A-Z a-z 0-9 . _ -, e.g. "opus"
  uint32_t clock_rate_hz = 0;  // RTP clock rate, 1..1000000; "clock_rate" in the JSON
  int channels = 1;            // 1..8
  int payload_type = 0;        // RTP payload type 0..127, unique among the codecs

  friend bool operator==(const CodecCapability&, const CodecCapability&) = default;
};

struct Capabilities {
  std::vector<CodecCapability> codecs;  // 1..kMaxCodecs
  // Quality profiles the client can encode (quality/profile.h names, e.g. "good"):
  // 0..kMaxProfiles distinct names (validation.h); the relay ignores names it lacks.
  std::vector<std::string> profiles;

  friend bool operator==(const Capabilities&, const Capabilities&) = default;
};

// Enter a room. The token (token.h) may be empty: the relay then refuses it as missing.
struct Join {
  std::string room;      // a name
  std::string token;     // 0..kMaxTokenChars; "" when the client has none
  std::string identity;  // "" (absent) or a name, which must equal the token's identity
  uint32_t ssrc = 0;     // the SSRC the client will send media with
  Capabilities capabilities;

  friend bool operator==(const Join&, const Join&) = default;
};

// Leave the room (the relay also treats a closed WebSocket as leave).
struct Leave {
  friend bool operator==(const Leave&, const Leave&) = default;
};

using ClientMessage = std::variant<Join, Leave>;

// ---- relay -> client -------------------------------------------------------------------

struct PeerInfo {
  uint32_t participant_id = 0;
  std::string identity;  // a name: the identity of the peer's token
  uint32_t ssrc = 0;

  friend bool operator==(const PeerInfo&, const PeerInfo&) = default;
};

// Where to send media, and the secret that latches the client's media address: the relay
// accepts media from an address only after a hello packet carrying this secret.
struct MediaInfo {
  std::string address;  // the relay's numeric "ip:port" (validation.h), port != 0
  std::array<uint8_t, kHelloSecretBytes> hello_secret{};  // random per join; hex in JSON

  friend bool operator==(const MediaInfo&, const MediaInfo&) = default;
};

// SRTP keying for the media plane, when the relay has SRTP on.
struct SrtpInfo {
  // "AES_CM_128_HMAC_SHA1_80" or "AEAD_AES_128_GCM" (rtp/srtp_session.h).
  std::string suite;
  // Master key then master salt: 30 bytes for AES-CM, 28 for AES-GCM. Standard base64
  // ("key_base64") in the JSON.
  std::vector<uint8_t> key;

  friend bool operator==(const SrtpInfo&, const SrtpInfo&) = default;
};

// The answer to a successful join.
struct Joined {
  uint32_t participant_id = 0;  // the client's id in this room
  // When the room's session began (Unix ms, >= 0): the origin of session time, on which
  // coordinated quality switches are scheduled.
  int64_t session_start_unix_ms = 0;
  MediaInfo media;
  std::optional<SrtpInfo> srtp;  // absent when SRTP is off
  std::vector<PeerInfo> peers;   // the others already in the room: 0..kMaxPeers, distinct ids

  friend bool operator==(const Joined&, const Joined&) = default;
};

struct PeerJoined {
  PeerInfo peer;  // flattened in the JSON: {participant_id, identity, ssrc}

  friend bool operator==(const PeerJoined&, const PeerJoined&) = default;
};

struct PeerLeft {
  uint32_t participant_id = 0;

  friend bool operator==(const PeerLeft&, const PeerLeft&) = default;
};

// Error codes, as strings on the wire.
enum class ErrorCode {
  kBadMessage,          // "bad_message": not JSON, too large or deep, a field wrong
  kUnsupportedVersion,  // "unsupported_version": "v" is not 1
  kUnsupportedType,     // "unsupported_type": a type this version does not handle here
  kUnauthorized,        // "unauthorized": token missing, malformed, forged or for another room
  kTokenExpired,        // "token_expired": the token was valid but has expired: get a new one
  kForbidden,           // "forbidden": the token lacks a right the request needs
  kRoomFull,            // "room_full": the room has its maximum of participants
  kRelayFull,           // "relay_full": the relay has its maximum of rooms
  kSsrcInUse,           // "ssrc_in_use": another participant of the room sends with that SSRC
  kAlreadyJoined,       // "already_joined": a second join on the same connection
  kInternal,            // "internal": the relay failed; retrying may help
};
// The wire name, e.g. "bad_message".
std::string_view ErrorCodeName(ErrorCode code);
// The code for a wire name; nullopt for a name this version does not know.
std::optional<ErrorCode> ErrorCodeFromName(std::string_view name);
// The code to answer a refused token with: kTokenExpired for kExpired, else kUnauthorized.
ErrorCode ErrorCodeFor(TokenError error);

struct ErrorMessage {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // for people, 0..kMaxErrorMessageBytes of UTF-8

  friend bool operator==(const ErrorMessage&, const ErrorMessage&) = default;
};

using RelayMessage = std::variant<Joined, PeerJoined, PeerLeft, ErrorMessage>;

// ---- parsing and writing -----------------------------------------------------------------

// A message from a client. On failure, `*error_code` (when not null) is the code to answer
// with: kUnsupportedVersion, kUnsupportedType or kBadMessage.
[[nodiscard]] Result<ClientMessage> ParseClientMessage(std::string_view text,
                                                       ErrorCode* error_code = nullptr);
// A message from the relay; `*error_code` as above.
[[nodiscard]] Result<RelayMessage> ParseRelayMessage(std::string_view text,
                                                     ErrorCode* error_code = nullptr);

std::string Serialize(const Join& message);
std::string Serialize(const Leave& message);
std::string Serialize(const Joined& message);
std::string Serialize(const PeerJoined& message);
std::string Serialize(const PeerLeft& message);
std::string Serialize(const ErrorMessage& message);
std::string Serialize(const ClientMessage& message);
std::string Serialize(const RelayMessage& message);

// A fresh hello secret from OpenSSL's CSPRNG (RAND_bytes), for a Joined. Throws
// std::runtime_error only when the generator cannot be seeded.
std::array<uint8_t, kHelloSecretBytes> NewHelloSecret();

}  // namespace parley::session
