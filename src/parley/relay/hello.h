// The media hello: the datagrams a participant and the relay exchange on the relay's
// media port before any media, so that the relay latches the participant's source address
// (media_router.h) only once that address has shown both the join secret and that it
// receives what is sent to it.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | marker = 0x0E | version = 1   | type 1..4     | reserved = 0  |  0
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                  participant id (u32, network order)          |  4
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                                                               |  8
//   |       join secret (16 bytes, per join): types 1, 2 and 4      |
//   |       cookie (16 bytes, from the relay): type 3               |
//   |                                                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                                                               | 24: types 1..3 end here
//   |       cookie (16 bytes, echoed from a type 3): type 4 only    |
//   |                                                               |
//   |                                                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//                                                                     40: type 4 ends here
//   type 1 hello              client -> relay, 24 bytes: latch me (or: still here)
//        2 hello-ack          relay -> client, 24 bytes: latched
//        3 hello-challenge    relay -> client, 24 bytes: prove you receive at this address
//        4 hello-with-cookie  client -> relay, 40 bytes: a hello with the challenge's cookie
//
// The flow: hello (1) -> challenge (3) -> hello-with-cookie (4) -> ack (2). A hello from
// the address already latched for the participant is acked at once (keep-alive); from
// any other address it is answered by a challenge, and only a hello-with-cookie whose
// cookie the relay made for that very address (hello_cookie.h) latches it. A participant
// holding a valid secret can thus no longer have media sent to an address it does not
// receive at (reflection): forging a hello from a victim's address brings the victim one
// 24-byte challenge and nothing else. Every answer is at most as long as what it answers
// (24 for 24, 24 for 40): no amplification. Types 3 and 4 came with the cookie; the
// version stays 1 because the 24-byte layout did not change (a client that knows only
// types 1 and 2 ignores the challenge, and so can no longer latch).
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
// same secret over the packet would prove nothing more. What neither would stop: an
// observer on the path of the media (who sees the hello in clear, and the challenge
// sent back along the same path) can replay it from its own address and take the latch
// over. Media privacy against that observer is SRTP's job.
//
// The ack echoes the participant id and secret: it goes only to an address that has
// just shown the secret (and, for a new latch, the cookie), so it reveals nothing new,
// and a client that has rejoined (new secret) can tell a stale ack from the current one.
// The challenge carries the participant id and the cookie but never the secret: it may
// go to an address that has shown nothing (the victim of a forgery).
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
inline constexpr size_t kHelloCookieBytes = 16;
inline constexpr size_t kHelloBytes = 24;            // types 1, 2 and 3
inline constexpr size_t kHelloWithCookieBytes = 40;  // type 4
inline constexpr size_t kHelloMaxBytes = kHelloWithCookieBytes;

// Byte offsets of the fields.
inline constexpr size_t kHelloMarkerOffset = 0;
inline constexpr size_t kHelloVersionOffset = 1;
inline constexpr size_t kHelloTypeOffset = 2;
inline constexpr size_t kHelloReservedOffset = 3;
inline constexpr size_t kHelloParticipantOffset = 4;
inline constexpr size_t kHelloSecretOffset = 8;             // types 1, 2, 4
inline constexpr size_t kChallengeCookieOffset = 8;         // type 3
inline constexpr size_t kHelloWithCookieCookieOffset = 24;  // type 4

using JoinSecret = std::array<uint8_t, kJoinSecretBytes>;
using HelloCookie = std::array<uint8_t, kHelloCookieBytes>;

enum class HelloType : uint8_t {
  kHello = 1,            // client -> relay: latch my address (or: still here)
  kAck = 2,              // relay -> client: latched
  kChallenge = 3,        // relay -> client: echo this cookie from this address
  kHelloWithCookie = 4,  // client -> relay: a hello with the challenge's cookie
};

// One hello of any type. `secret` is meaningful for types 1, 2 and 4 and `cookie` for
// types 3 and 4; the other is all zero after a decode (and ignored by the serialisers).
struct Hello {
  HelloType type = HelloType::kHello;
  uint32_t participant_id = 0;
  JoinSecret secret{};
  HelloCookie cookie{};

  bool operator==(const Hello&) const = default;
};

// What is wrong with a datagram that is not a valid hello, checked in this order.
enum class HelloFault : uint8_t {
  kNone,
  kTooShort,     // fewer than kHelloBytes, or than kHelloWithCookieBytes for type 4
  kBadMarker,    // byte 0 is not kHelloMarker
  kBadVersion,   // byte 1 is not kHelloVersion
  kBadType,      // byte 2 is not 1..4
  kBadReserved,  // byte 3 is not 0
  kTooLong,      // more bytes than its type has (version 1 has no extensions)
};

// The size of a hello of `type`: kHelloBytes, or kHelloWithCookieBytes for type 4.
size_t HelloSize(HelloType type);

// Allocation-free parse for the packet path: fills `out` and returns kNone, or returns
// the first fault found (`out` is then unspecified).
[[nodiscard]] HelloFault DecodeHello(std::span<const uint8_t> datagram, Hello& out);

// The same checks with an Error naming the field and its byte offset, e.g.
// "hello byte 1 (version): 2, expected 1".
[[nodiscard]] Result<Hello> ParseHello(std::span<const uint8_t> datagram);

// The 24 bytes of a hello, hello-ack or hello-challenge. Throws std::invalid_argument for
// type 4 (SerializeHelloWithCookie) or a type outside HelloType (API misuse).
std::array<uint8_t, kHelloBytes> SerializeHello(const Hello& hello);

// The 40 bytes of a hello-with-cookie (the type is written as 4 whatever `hello.type`).
std::array<uint8_t, kHelloWithCookieBytes> SerializeHelloWithCookie(const Hello& hello);

// True when `a` and `b` hold the same bytes; for secrets and cookies alike (both are 16
// bytes). Takes the same time whatever the bytes, so how long a refusal took tells an
// attacker nothing about how close a guess was.
bool SecretsEqual(const JoinSecret& a, const JoinSecret& b);

// "hello", "hello-ack", "hello-challenge", "hello-with-cookie".
std::string_view HelloTypeName(HelloType type);

}  // namespace parley::relay
