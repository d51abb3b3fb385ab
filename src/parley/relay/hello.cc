#include "parley/relay/hello.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <stdexcept>

#include "parley/rtp/big_endian.h"

namespace parley::relay {
namespace {

bool IsKnownType(uint8_t type) {
  return type >= static_cast<uint8_t>(HelloType::kHello) &&
         type <= static_cast<uint8_t>(HelloType::kHelloWithCookie);
}

// A hint for the most likely mistake: an RTP/RTCP packet (or another protocol sharing
// the port, per RFC 7983's first-byte ranges) sent where a hello was expected.
std::string_view FirstByteHint(uint8_t first) {
  if (first >= 128 && first <= 191) return " (an RTP/RTCP packet?)";
  if (first <= 3) return " (a STUN message?)";
  if (first >= 20 && first <= 63) return " (a DTLS record?)";
  return "";
}

// The type byte when the datagram holds it and it is a known type: it tells which field
// sits at offset 8 and how long the hello should be. nullopt otherwise.
std::optional<HelloType> VisibleType(std::span<const uint8_t> datagram) {
  if (datagram.size() <= kHelloTypeOffset || !IsKnownType(datagram[kHelloTypeOffset])) {
    return std::nullopt;
  }
  return static_cast<HelloType>(datagram[kHelloTypeOffset]);
}

// The first field a datagram of `size` bytes (shorter than its type's size) does not
// hold whole.
struct CutField {
  std::string_view name;
  size_t offset;
};
CutField FirstCutField(size_t size, std::optional<HelloType> type) {
  if (size < kHelloParticipantOffset) return {"header", kHelloMarkerOffset};
  if (size < kHelloSecretOffset) return {"participant id", kHelloParticipantOffset};
  if (type == HelloType::kChallenge) return {"cookie", kChallengeCookieOffset};
  if (size < kHelloBytes) return {"join secret", kHelloSecretOffset};
  return {"cookie", kHelloWithCookieCookieOffset};
}

void WriteHeader(uint8_t* bytes, HelloType type, uint32_t participant_id) {
  bytes[kHelloMarkerOffset] = kHelloMarker;
  bytes[kHelloVersionOffset] = kHelloVersion;
  bytes[kHelloTypeOffset] = static_cast<uint8_t>(type);
  bytes[kHelloReservedOffset] = 0;
  rtp::WriteBe32(bytes + kHelloParticipantOffset, participant_id);
}

}  // namespace

size_t HelloSize(HelloType type) {
  return type == HelloType::kHelloWithCookie ? kHelloWithCookieBytes : kHelloBytes;
}

HelloFault DecodeHello(std::span<const uint8_t> datagram, Hello& out) {
  if (datagram.size() < kHelloBytes) return HelloFault::kTooShort;
  if (datagram[kHelloMarkerOffset] != kHelloMarker) return HelloFault::kBadMarker;
  if (datagram[kHelloVersionOffset] != kHelloVersion) return HelloFault::kBadVersion;
  if (!IsKnownType(datagram[kHelloTypeOffset])) return HelloFault::kBadType;
  if (datagram[kHelloReservedOffset] != 0) return HelloFault::kBadReserved;
  const auto type = static_cast<HelloType>(datagram[kHelloTypeOffset]);
  const size_t expected = HelloSize(type);
  if (datagram.size() < expected) return HelloFault::kTooShort;
  if (datagram.size() > expected) return HelloFault::kTooLong;
  out.type = type;
  out.participant_id = rtp::ReadBe32(datagram.data() + kHelloParticipantOffset);
  out.secret.fill(0);
  out.cookie.fill(0);
  switch (type) {
    case HelloType::kChallenge:
      std::copy_n(datagram.begin() + kChallengeCookieOffset, kHelloCookieBytes, out.cookie.begin());
      break;
    case HelloType::kHelloWithCookie:
      std::copy_n(datagram.begin() + kHelloWithCookieCookieOffset, kHelloCookieBytes,
                  out.cookie.begin());
      [[fallthrough]];
    case HelloType::kHello:
    case HelloType::kAck:
      std::copy_n(datagram.begin() + kHelloSecretOffset, kJoinSecretBytes, out.secret.begin());
      break;
  }
  return HelloFault::kNone;
}

Result<Hello> ParseHello(std::span<const uint8_t> datagram) {
  Hello hello;
  switch (DecodeHello(datagram, hello)) {
    case HelloFault::kNone:
      return hello;
    case HelloFault::kTooShort: {
      const std::optional<HelloType> type = VisibleType(datagram);
      const CutField cut = FirstCutField(datagram.size(), type);
      return Error{fmt::format("hello {} bytes < {}: {} at offset {} is cut", datagram.size(),
                               HelloSize(type.value_or(HelloType::kHello)), cut.name, cut.offset)};
    }
    case HelloFault::kBadMarker:
      return Error{fmt::format("hello byte {} (marker): 0x{:02X}, expected 0x{:02X}{}",
                               kHelloMarkerOffset, datagram[kHelloMarkerOffset], kHelloMarker,
                               FirstByteHint(datagram[kHelloMarkerOffset]))};
    case HelloFault::kBadVersion:
      return Error{fmt::format("hello byte {} (version): {}, expected {}", kHelloVersionOffset,
                               datagram[kHelloVersionOffset], kHelloVersion)};
    case HelloFault::kBadType:
      return Error{fmt::format(
          "hello byte {} (type): {}, expected 1 (hello), 2 (hello-ack), 3 (hello-challenge) or "
          "4 (hello-with-cookie)",
          kHelloTypeOffset, datagram[kHelloTypeOffset])};
    case HelloFault::kBadReserved:
      return Error{fmt::format("hello byte {} (reserved): 0x{:02X}, must be 0",
                               kHelloReservedOffset, datagram[kHelloReservedOffset])};
    case HelloFault::kTooLong: {
      const size_t expected = HelloSize(static_cast<HelloType>(datagram[kHelloTypeOffset]));
      return Error{fmt::format("hello {} bytes > {}: {} unexpected bytes at offset {}",
                               datagram.size(), expected, datagram.size() - expected, expected)};
    }
  }
  return Error{"hello: unknown fault"};
}

std::array<uint8_t, kHelloBytes> SerializeHello(const Hello& hello) {
  if (!IsKnownType(static_cast<uint8_t>(hello.type))) {
    throw std::invalid_argument(
        fmt::format("SerializeHello: type {} is not a HelloType", static_cast<int>(hello.type)));
  }
  if (hello.type == HelloType::kHelloWithCookie) {
    throw std::invalid_argument(
        "SerializeHello: a hello-with-cookie is 40 bytes (SerializeHelloWithCookie)");
  }
  std::array<uint8_t, kHelloBytes> bytes{};
  WriteHeader(bytes.data(), hello.type, hello.participant_id);
  const auto& field = hello.type == HelloType::kChallenge ? hello.cookie : hello.secret;
  std::copy(field.begin(), field.end(), bytes.begin() + kHelloSecretOffset);
  return bytes;
}

std::array<uint8_t, kHelloWithCookieBytes> SerializeHelloWithCookie(const Hello& hello) {
  std::array<uint8_t, kHelloWithCookieBytes> bytes{};
  WriteHeader(bytes.data(), HelloType::kHelloWithCookie, hello.participant_id);
  std::copy(hello.secret.begin(), hello.secret.end(), bytes.begin() + kHelloSecretOffset);
  std::copy(hello.cookie.begin(), hello.cookie.end(), bytes.begin() + kHelloWithCookieCookieOffset);
  return bytes;
}

bool SecretsEqual(const JoinSecret& a, const JoinSecret& b) {
  // Every byte is visited whatever differs: no early exit.
  uint8_t difference = 0;
  for (size_t i = 0; i < kJoinSecretBytes; ++i) difference |= static_cast<uint8_t>(a[i] ^ b[i]);
  return difference == 0;
}

std::string_view HelloTypeName(HelloType type) {
  switch (type) {
    case HelloType::kHello:
      return "hello";
    case HelloType::kAck:
      return "hello-ack";
    case HelloType::kChallenge:
      return "hello-challenge";
    case HelloType::kHelloWithCookie:
      return "hello-with-cookie";
  }
  return "unknown";
}

}  // namespace parley::relay
