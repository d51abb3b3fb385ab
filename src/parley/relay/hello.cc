#include "parley/relay/hello.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "parley/rtp/big_endian.h"

namespace parley::relay {
namespace {

bool IsKnownType(uint8_t type) {
  return type == static_cast<uint8_t>(HelloType::kHello) ||
         type == static_cast<uint8_t>(HelloType::kAck);
}

// A hint for the most likely mistake: an RTP/RTCP packet (or another protocol sharing
// the port, per RFC 7983's first-byte ranges) sent where a hello was expected.
std::string_view FirstByteHint(uint8_t first) {
  if (first >= 128 && first <= 191) return " (an RTP/RTCP packet?)";
  if (first <= 3) return " (a STUN message?)";
  if (first >= 20 && first <= 63) return " (a DTLS record?)";
  return "";
}

// The first field a datagram of `size` bytes (< kHelloBytes) does not hold whole.
struct CutField {
  std::string_view name;
  size_t offset;
};
CutField FirstCutField(size_t size) {
  if (size < kHelloParticipantOffset) return {"header", kHelloMarkerOffset};
  if (size < kHelloSecretOffset) return {"participant id", kHelloParticipantOffset};
  return {"join secret", kHelloSecretOffset};
}

}  // namespace

HelloFault DecodeHello(std::span<const uint8_t> datagram, Hello& out) {
  if (datagram.size() < kHelloBytes) return HelloFault::kTooShort;
  if (datagram[kHelloMarkerOffset] != kHelloMarker) return HelloFault::kBadMarker;
  if (datagram[kHelloVersionOffset] != kHelloVersion) return HelloFault::kBadVersion;
  if (!IsKnownType(datagram[kHelloTypeOffset])) return HelloFault::kBadType;
  if (datagram[kHelloReservedOffset] != 0) return HelloFault::kBadReserved;
  if (datagram.size() > kHelloBytes) return HelloFault::kTooLong;
  out.type = static_cast<HelloType>(datagram[kHelloTypeOffset]);
  out.participant_id = rtp::ReadBe32(datagram.data() + kHelloParticipantOffset);
  std::copy_n(datagram.begin() + kHelloSecretOffset, kJoinSecretBytes, out.secret.begin());
  return HelloFault::kNone;
}

Result<Hello> ParseHello(std::span<const uint8_t> datagram) {
  Hello hello;
  switch (DecodeHello(datagram, hello)) {
    case HelloFault::kNone:
      return hello;
    case HelloFault::kTooShort: {
      const CutField cut = FirstCutField(datagram.size());
      return Error{fmt::format("hello {} bytes < {}: {} at offset {} is cut", datagram.size(),
                               kHelloBytes, cut.name, cut.offset)};
    }
    case HelloFault::kBadMarker:
      return Error{fmt::format("hello byte {} (marker): 0x{:02X}, expected 0x{:02X}{}",
                               kHelloMarkerOffset, datagram[kHelloMarkerOffset], kHelloMarker,
                               FirstByteHint(datagram[kHelloMarkerOffset]))};
    case HelloFault::kBadVersion:
      return Error{fmt::format("hello byte {} (version): {}, expected {}", kHelloVersionOffset,
                               datagram[kHelloVersionOffset], kHelloVersion)};
    case HelloFault::kBadType:
      return Error{fmt::format("hello byte {} (type): {}, expected 1 (hello) or 2 (hello-ack)",
                               kHelloTypeOffset, datagram[kHelloTypeOffset])};
    case HelloFault::kBadReserved:
      return Error{fmt::format("hello byte {} (reserved): 0x{:02X}, must be 0",
                               kHelloReservedOffset, datagram[kHelloReservedOffset])};
    case HelloFault::kTooLong:
      return Error{fmt::format("hello {} bytes > {}: {} unexpected bytes at offset {}",
                               datagram.size(), kHelloBytes, datagram.size() - kHelloBytes,
                               kHelloBytes)};
  }
  return Error{"hello: unknown fault"};
}

std::array<uint8_t, kHelloBytes> SerializeHello(const Hello& hello) {
  if (!IsKnownType(static_cast<uint8_t>(hello.type))) {
    throw std::invalid_argument(
        fmt::format("SerializeHello: type {} is not a HelloType", static_cast<int>(hello.type)));
  }
  std::array<uint8_t, kHelloBytes> bytes{};
  bytes[kHelloMarkerOffset] = kHelloMarker;
  bytes[kHelloVersionOffset] = kHelloVersion;
  bytes[kHelloTypeOffset] = static_cast<uint8_t>(hello.type);
  bytes[kHelloReservedOffset] = 0;
  rtp::WriteBe32(bytes.data() + kHelloParticipantOffset, hello.participant_id);
  std::copy(hello.secret.begin(), hello.secret.end(), bytes.begin() + kHelloSecretOffset);
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
  }
  return "unknown";
}

}  // namespace parley::relay
