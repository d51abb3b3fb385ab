#include "parley/relay/hello.h"

#include <gtest/gtest.h>

#include <array>
#include <stdexcept>
#include <vector>

namespace parley::relay {
namespace {

// A hello of `type` with the fields that type carries (the others stay zero, as a decode
// leaves them).
Hello MakeHello(HelloType type = HelloType::kHello) {
  Hello hello;
  hello.type = type;
  hello.participant_id = 0x01020304;
  if (type != HelloType::kChallenge) {
    for (size_t i = 0; i < kJoinSecretBytes; ++i) hello.secret[i] = static_cast<uint8_t>(0xA0 + i);
  }
  if (type == HelloType::kChallenge || type == HelloType::kHelloWithCookie) {
    for (size_t i = 0; i < kHelloCookieBytes; ++i) hello.cookie[i] = static_cast<uint8_t>(0xC0 + i);
  }
  return hello;
}

std::vector<uint8_t> Bytes(const Hello& hello) {
  if (hello.type == HelloType::kHelloWithCookie) {
    const auto bytes = SerializeHelloWithCookie(hello);
    return {bytes.begin(), bytes.end()};
  }
  const auto bytes = SerializeHello(hello);
  return {bytes.begin(), bytes.end()};
}

constexpr HelloType kAllTypes[] = {HelloType::kHello, HelloType::kAck, HelloType::kChallenge,
                                   HelloType::kHelloWithCookie};

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

TEST(HelloTest, ChallengeCarriesTheCookieWhereTheSecretWouldBe) {
  Hello challenge = MakeHello(HelloType::kChallenge);
  challenge.secret.fill(0x77);  // never sent: a challenge may go to an unproven address
  const auto bytes = SerializeHello(challenge);
  const std::array<uint8_t, kHelloBytes> expected = {
      0x0E, 0x01, 0x03, 0x00,                          // marker, version, type challenge
      0x01, 0x02, 0x03, 0x04,                          // participant id
      0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7,  // cookie
      0xC8, 0xC9, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF};
  EXPECT_EQ(bytes, expected);
}

TEST(HelloTest, HelloWithCookieIsTheHelloFollowedByTheCookie) {
  const auto bytes = SerializeHelloWithCookie(MakeHello(HelloType::kHelloWithCookie));
  const std::array<uint8_t, kHelloWithCookieBytes> expected = {
      0x0E, 0x01, 0x04, 0x00,                          // marker, version, type 4
      0x01, 0x02, 0x03, 0x04,                          // participant id
      0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,  // secret
      0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF,  //
      0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7,  // cookie
      0xC8, 0xC9, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF};
  EXPECT_EQ(bytes, expected);
  // Whatever type the Hello says, the 40-byte form is type 4; the 24-byte form refuses 4.
  Hello hello = MakeHello(HelloType::kHelloWithCookie);
  hello.type = HelloType::kHello;
  EXPECT_EQ(SerializeHelloWithCookie(hello), expected);
  EXPECT_THROW((void)SerializeHello(MakeHello(HelloType::kHelloWithCookie)), std::invalid_argument);
  EXPECT_EQ(HelloSize(HelloType::kHelloWithCookie), 40u);
  EXPECT_EQ(HelloSize(HelloType::kChallenge), 24u);
}

TEST(HelloTest, RoundTripsEveryType) {
  for (HelloType type : kAllTypes) {
    const Hello hello = MakeHello(type);
    const auto bytes = Bytes(hello);
    EXPECT_EQ(bytes.size(), HelloSize(type));
    Result<Hello> parsed = ParseHello(bytes);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, hello) << HelloTypeName(type);
    Hello decoded;
    decoded.secret.fill(0xEE);  // a decode clears the field its type does not carry
    decoded.cookie.fill(0xEE);
    EXPECT_EQ(DecodeHello(bytes, decoded), HelloFault::kNone);
    EXPECT_EQ(decoded, hello) << HelloTypeName(type);
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

// The type byte, once visible, tells which field is cut and how long the hello should be.
TEST(HelloTest, ShortChallengesAndCookieHellosNameTheirOwnFields) {
  const auto challenge = Bytes(MakeHello(HelloType::kChallenge));
  const auto with_cookie = Bytes(MakeHello(HelloType::kHelloWithCookie));
  struct Case {
    const std::vector<uint8_t>* full;
    size_t size;
    const char* message;
  };
  const Case cases[] = {
      {&challenge, 20, "hello 20 bytes < 24: cookie at offset 8 is cut"},
      {&with_cookie, 2, "hello 2 bytes < 24: header at offset 0 is cut"},
      {&with_cookie, 16, "hello 16 bytes < 40: join secret at offset 8 is cut"},
      {&with_cookie, 24, "hello 24 bytes < 40: cookie at offset 24 is cut"},
      {&with_cookie, 39, "hello 39 bytes < 40: cookie at offset 24 is cut"},
  };
  for (const Case& c : cases) {
    const std::span<const uint8_t> cut(c.full->data(), c.size);
    Result<Hello> parsed = ParseHello(cut);
    ASSERT_FALSE(parsed) << c.size;
    EXPECT_EQ(parsed.error().message, c.message);
    Hello out;
    EXPECT_EQ(DecodeHello(cut, out), HelloFault::kTooShort) << c.message;
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
      {2, 0, HelloFault::kBadType,
       "hello byte 2 (type): 0, expected 1 (hello), 2 (hello-ack), 3 (hello-challenge) or 4 "
       "(hello-with-cookie)"},
      {2, 5, HelloFault::kBadType,
       "hello byte 2 (type): 5, expected 1 (hello), 2 (hello-ack), 3 (hello-challenge) or 4 "
       "(hello-with-cookie)"},
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
  // A 24-byte type with 16 more bytes is not taken for a hello-with-cookie.
  auto challenge = Bytes(MakeHello(HelloType::kChallenge));
  challenge.resize(kHelloWithCookieBytes);
  Hello out;
  EXPECT_EQ(DecodeHello(challenge, out), HelloFault::kTooLong);
  auto with_cookie = Bytes(MakeHello(HelloType::kHelloWithCookie));
  with_cookie.push_back(0);
  parsed = ParseHello(with_cookie);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "hello 41 bytes > 40: 1 unexpected bytes at offset 40");
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
  EXPECT_EQ(HelloTypeName(HelloType::kChallenge), "hello-challenge");
  EXPECT_EQ(HelloTypeName(HelloType::kHelloWithCookie), "hello-with-cookie");
}

}  // namespace
}  // namespace parley::relay
