#include "parley/relay/hello.h"

#include <gtest/gtest.h>

#include <array>
#include <stdexcept>
#include <vector>

namespace parley::relay {
namespace {

Hello MakeHello(HelloType type = HelloType::kHello) {
  Hello hello;
  hello.type = type;
  hello.participant_id = 0x01020304;
  for (size_t i = 0; i < kJoinSecretBytes; ++i) hello.secret[i] = static_cast<uint8_t>(0xA0 + i);
  return hello;
}

std::vector<uint8_t> Bytes(const Hello& hello) {
  const auto bytes = SerializeHello(hello);
  return {bytes.begin(), bytes.end()};
}

TEST(HelloTest, SerializesToTheDocumentedLayout) {
  const auto bytes = SerializeHello(MakeHello());
  const std::array<uint8_t, kHelloBytes> expected = {
      0x0E, 0x01, 0x01, 0x00,                          // marker, version, type hello, reserved
      0x01, 0x02, 0x03, 0x04,                          // participant id, big-endian
      0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,  // secret
      0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF};
  EXPECT_EQ(bytes, expected);
  EXPECT_EQ(SerializeHello(MakeHello(HelloType::kAck))[kHelloTypeOffset], 2);
}

TEST(HelloTest, RoundTripsHelloAndAck) {
  for (HelloType type : {HelloType::kHello, HelloType::kAck}) {
    const Hello hello = MakeHello(type);
    const auto bytes = Bytes(hello);
    Result<Hello> parsed = ParseHello(bytes);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, hello);
    Hello decoded;
    EXPECT_EQ(DecodeHello(bytes, decoded), HelloFault::kNone);
    EXPECT_EQ(decoded, hello);
  }
}

TEST(HelloTest, FirstByteIsOutsideEveryRfc7983Range) {
  // STUN 0..3, ZRTP 16..19, DTLS 20..63, TURN channel 64..79, RTP/RTCP 128..191, and
  // RFC 9443's QUIC 64..255 above that: the marker falls in none.
  EXPECT_GT(kHelloMarker, 3);
  EXPECT_LT(kHelloMarker, 16);
  // And an RTP packet is refused as a hello by its first byte, with a hint.
  std::vector<uint8_t> rtp(kHelloBytes, 0);
  rtp[0] = 0x80;
  Result<Hello> parsed = ParseHello(rtp);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message,
            "hello byte 0 (marker): 0x80, expected 0x0E (an RTP/RTCP packet?)");
}

TEST(HelloTest, ShortDatagramsNameTheFieldTheyCut) {
  const auto full = Bytes(MakeHello());
  struct Case {
    size_t size;
    const char* message;
  };
  const Case cases[] = {
      {0, "hello 0 bytes < 24: header at offset 0 is cut"},
      {3, "hello 3 bytes < 24: header at offset 0 is cut"},
      {6, "hello 6 bytes < 24: participant id at offset 4 is cut"},
      {23, "hello 23 bytes < 24: join secret at offset 8 is cut"},
  };
  for (const Case& c : cases) {
    const std::span<const uint8_t> cut(full.data(), c.size);
    Result<Hello> parsed = ParseHello(cut);
    ASSERT_FALSE(parsed) << c.size;
    EXPECT_EQ(parsed.error().message, c.message);
    Hello out;
    EXPECT_EQ(DecodeHello(cut, out), HelloFault::kTooShort);
  }
}

TEST(HelloTest, RejectsEachBadHeaderFieldWithItsOffset) {
  struct Case {
    size_t offset;
    uint8_t value;
    HelloFault fault;
    const char* message;
  };
  const Case cases[] = {
      {0, 0x16, HelloFault::kBadMarker,
       "hello byte 0 (marker): 0x16, expected 0x0E (a DTLS record?)"},
      {0, 0x00, HelloFault::kBadMarker,
       "hello byte 0 (marker): 0x00, expected 0x0E (a STUN message?)"},
      {1, 2, HelloFault::kBadVersion, "hello byte 1 (version): 2, expected 1"},
      {2, 0, HelloFault::kBadType, "hello byte 2 (type): 0, expected 1 (hello) or 2 (hello-ack)"},
      {2, 3, HelloFault::kBadType, "hello byte 2 (type): 3, expected 1 (hello) or 2 (hello-ack)"},
      {3, 0x80, HelloFault::kBadReserved, "hello byte 3 (reserved): 0x80, must be 0"},
  };
  for (const Case& c : cases) {
    auto bytes = Bytes(MakeHello());
    bytes[c.offset] = c.value;
    Hello out;
    EXPECT_EQ(DecodeHello(bytes, out), c.fault) << c.message;
    Result<Hello> parsed = ParseHello(bytes);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().message, c.message);
  }
}

TEST(HelloTest, RejectsTrailingBytes) {
  auto bytes = Bytes(MakeHello());
  bytes.push_back(0);
  bytes.push_back(0);
  Result<Hello> parsed = ParseHello(bytes);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "hello 26 bytes > 24: 2 unexpected bytes at offset 24");
}

TEST(HelloTest, SerializeRejectsAnUnknownType) {
  Hello hello = MakeHello();
  hello.type = static_cast<HelloType>(9);
  EXPECT_THROW((void)SerializeHello(hello), std::invalid_argument);
}

TEST(HelloTest, SecretsEqualComparesEveryByte) {
  const JoinSecret a = MakeHello().secret;
  EXPECT_TRUE(SecretsEqual(a, a));
  for (size_t i = 0; i < kJoinSecretBytes; ++i) {
    JoinSecret b = a;
    b[i] ^= 0x01;
    EXPECT_FALSE(SecretsEqual(a, b)) << "differs at byte " << i;
  }
}

TEST(HelloTest, TypeNames) {
  EXPECT_EQ(HelloTypeName(HelloType::kHello), "hello");
  EXPECT_EQ(HelloTypeName(HelloType::kAck), "hello-ack");
}

}  // namespace
}  // namespace parley::relay
