// The media hello: the first datagram a participant sends to the relay's media port, and
// the relay's answer. A valid hello latches the sender's source address to the
// participant (media_router.h); the hello-ack, the same 24 bytes with the type changed,
// tells the client it is latched.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | marker = 0x0E | version = 1   | type 1|2      | reserved = 0  |  0
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                  participant id (u32, network order)          |  4
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                                                               |  8
//   |                join secret (16 bytes, per join)               |
//   |                                                               |
//   |                                                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//                                                                     24 bytes in all
//   type: 1 = hello (client -> relay), 2 = hello-ack (relay -> client).
//
// Why byte 0 is 0x0E: RFC 7983 demultiplexes a media port by its first byte: 0..3 STUN,
// 16..19 ZRTP, 20..63 DTLS, 64..79 TURN channel, 128..191 RTP/RTCP (RFC 9443 adds QUIC at
// 64..127 and 192..255). 4..15 is assigned to none of them, so a hello is never taken
// for RTP/RTCP (whose version bits are 2: first byte 128..191) or for the others, and
// the relay tells them apart on one byte.
//
// Why the secret travels as it is, without an HMAC: the secret is 16 random bytes made
// for this one join and handed to the client only over the signaling channel (TLS when
// configured). Knowing it is the proof, as a bearer token is; an HMAC keyed with the
// same secret over the packet would prove nothing more, since the packet carries no
// fresh value the relay could check. What neither would stop: an observer on the path
// of the media (who sees the hello in clear) can replay it from its own address and take
// the latch over. Media privacy against that observer is SRTP's job.
//
// The ack echoes the participant id and secret: it goes only to the address that has
// just shown the secret, so it reveals nothing new, and a client that has rejoined (new
// secret) can tell a stale ack from the current one. It is the hello's size, so the
// relay never answers with more bytes than it received (no amplification).
//
// Parsing never throws and reads nothing outside the given bytes. DecodeHello() is the
// allocation-free form for the packet path; ParseHello() returns an Error naming the
// field and its byte offset. Threading: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "parley/base/result.h"

namespace parley::relay {

inline constexpr uint8_t kHelloMarker = 0x0E;
inline constexpr uint8_t kHelloVersion = 1;
inline constexpr size_t kJoinSecretBytes = 16;
inline constexpr size_t kHelloBytes = 24;

// Byte offsets of the fields.
inline constexpr size_t kHelloMarkerOffset = 0;
inline constexpr size_t kHelloVersionOffset = 1;
inline constexpr size_t kHelloTypeOffset = 2;
inline constexpr size_t kHelloReservedOffset = 3;
inline constexpr size_t kHelloParticipantOffset = 4;
inline constexpr size_t kHelloSecretOffset = 8;

using JoinSecret = std::array<uint8_t, kJoinSecretBytes>;

enum class HelloType : uint8_t {
  kHello = 1,  // client -> relay: latch my address
  kAck = 2,    // relay -> client: latched
};

struct Hello {
  HelloType type = HelloType::kHello;
  uint32_t participant_id = 0;
  JoinSecret secret{};

  bool operator==(const Hello&) const = default;
};

// What is wrong with a datagram that is not a valid hello, checked in this order.
enum class HelloFault : uint8_t {
  kNone,
  kTooShort,     // fewer than kHelloBytes
  kBadMarker,    // byte 0 is not kHelloMarker
  kBadVersion,   // byte 1 is not kHelloVersion
  kBadType,      // byte 2 is neither 1 nor 2
  kBadReserved,  // byte 3 is not 0
  kTooLong,      // more than kHelloBytes (version 1 has no extensions)
};

// Allocation-free parse for the packet path: fills `out` and returns kNone, or returns
// the first fault found (`out` is then unspecified).
[[nodiscard]] HelloFault DecodeHello(std::span<const uint8_t> datagram, Hello& out);

// The same checks with an Error naming the field and its byte offset, e.g.
// "hello byte 1 (version): 2, expected 1".
[[nodiscard]] Result<Hello> ParseHello(std::span<const uint8_t> datagram);

// The 24 bytes of `hello`. Throws std::invalid_argument for a type outside HelloType
// (API misuse).
std::array<uint8_t, kHelloBytes> SerializeHello(const Hello& hello);

// True when `a` and `b` hold the same bytes. Takes the same time whatever the bytes, so
// how long a refusal took tells an attacker nothing about how close a guess was.
bool SecretsEqual(const JoinSecret& a, const JoinSecret& b);

// "hello", "hello-ack".
std::string_view HelloTypeName(HelloType type);

}  // namespace parley::relay
