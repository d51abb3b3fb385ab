#include "parley/relay/hello_cookie.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <stdexcept>
#include <vector>

#include "parley/rtp/big_endian.h"

namespace parley::relay {
namespace {

using std::chrono::seconds;

constexpr uint32_t kParticipant = 0x01020304;
constexpr Clock::Duration kLifetime = seconds(10);

HelloCookieKey Key(uint8_t seed) {
  HelloCookieKey key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(seed + 3 * i);
  return key;
}

JoinSecret Secret(uint8_t seed) {
  JoinSecret secret{};
  for (size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<uint8_t>(seed ^ (i * 11));
  return secret;
}

AddressKey Address(const char* text) {
  Result<net::SocketAddress> parsed = net::SocketAddress::Parse(text);
  if (!parsed) throw std::invalid_argument(parsed.error().message);
  return AddressKey::Of(*parsed);
}

Clock::TimePoint At(Clock::Duration since_start) { return Clock::TimePoint(since_start); }

HelloCookie MakeOrFail(HelloCookieMaker& maker, uint32_t id, const JoinSecret& secret,
                       const AddressKey& from, Clock::TimePoint now) {
  HelloCookie cookie{};
  EXPECT_TRUE(maker.Make(id, secret, from, now, cookie));
  return cookie;
}

// The cookie is the documented HMAC-SHA256, computed here with OpenSSL's one-shot HMAC()
// over the message laid out by hand: pins the layout, so a relay and any other
// implementation of the check agree.
TEST(HelloCookieTest, IsTheTruncatedHmacOfTheDocumentedMessage) {
  const HelloCookieKey key = Key(7);
  const JoinSecret secret = Secret(0x5A);
  const AddressKey from = Address("192.0.2.10:40000");
  const Clock::TimePoint now = At(seconds(1234));  // epoch 123
  HelloCookieMaker maker(key, kLifetime);
  const HelloCookie cookie = MakeOrFail(maker, kParticipant, secret, from, now);

  std::vector<uint8_t> message(4);
  rtp::WriteBe32(message.data(), kParticipant);
  message.insert(message.end(), secret.begin(), secret.end());
  for (uint64_t word : {from.ip_high, from.ip_low, from.rest, uint64_t{123}}) {
    uint8_t bytes[8];
    rtp::WriteBe64(bytes, word);
    message.insert(message.end(), bytes, bytes + 8);
  }
  ASSERT_EQ(message.size(), 52u);
  uint8_t mac[32];
  unsigned mac_bytes = 0;
  ASSERT_NE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), message.data(),
                 message.size(), mac, &mac_bytes),
            nullptr);
  ASSERT_EQ(mac_bytes, 32u);
  EXPECT_EQ(std::vector<uint8_t>(cookie.begin(), cookie.end()),
            std::vector<uint8_t>(mac, mac + kHelloCookieBytes));
  // Made twice the same way: the same bytes (the prepared context is re-initialised).
  EXPECT_EQ(MakeOrFail(maker, kParticipant, secret, from, now), cookie);
}

TEST(HelloCookieTest, ValidInItsEpochAndTheNextOnly) {
  HelloCookieMaker maker(Key(1), kLifetime);
  const JoinSecret secret = Secret(1);
  const AddressKey from = Address("198.51.100.7:5000");
  // Made at 25 s: epoch 2, [20 s, 30 s). Accepted until 40 s (end of epoch 3).
  const HelloCookie cookie = MakeOrFail(maker, kParticipant, secret, from, At(seconds(25)));
  EXPECT_TRUE(maker.Check(cookie, kParticipant, secret, from, At(seconds(25))));
  EXPECT_TRUE(maker.Check(cookie, kParticipant, secret, from, At(seconds(29))));
  EXPECT_TRUE(maker.Check(cookie, kParticipant, secret, from, At(seconds(30))));
  EXPECT_TRUE(maker.Check(cookie, kParticipant, secret, from,
                          At(seconds(40) - std::chrono::nanoseconds(1))));
  EXPECT_FALSE(maker.Check(cookie, kParticipant, secret, from, At(seconds(40))));
  EXPECT_FALSE(maker.Check(cookie, kParticipant, secret, from, At(seconds(100))));
  // A cookie is not valid before the epoch it was made in (a clock never goes back, but
  // the check must not accept "next epoch" cookies either).
  const HelloCookie later = MakeOrFail(maker, kParticipant, secret, from, At(seconds(35)));
  EXPECT_FALSE(maker.Check(later, kParticipant, secret, from, At(seconds(25))));
  // Epoch 0 has no epoch before it.
  const HelloCookie first = MakeOrFail(maker, kParticipant, secret, from, At(seconds(0)));
  EXPECT_TRUE(maker.Check(first, kParticipant, secret, from, At(seconds(9))));
  EXPECT_TRUE(maker.Check(first, kParticipant, secret, from, At(seconds(19))));
  EXPECT_FALSE(maker.Check(first, kParticipant, secret, from, At(seconds(20))));
}

TEST(HelloCookieTest, BoundToParticipantSecretAndEveryPartOfTheAddress) {
  HelloCookieMaker maker(Key(2), kLifetime);
  const JoinSecret secret = Secret(2);
  const AddressKey from = Address("203.0.113.5:6000");
  const Clock::TimePoint now = At(seconds(50));
  const HelloCookie cookie = MakeOrFail(maker, kParticipant, secret, from, now);
  EXPECT_TRUE(maker.Check(cookie, kParticipant, secret, from, now));
  EXPECT_FALSE(maker.Check(cookie, kParticipant + 1, secret, from, now));
  JoinSecret other_secret = secret;
  other_secret[15] ^= 0x80;
  EXPECT_FALSE(maker.Check(cookie, kParticipant, other_secret, from, now));
  for (const char* other : {"203.0.113.5:6001", "203.0.113.6:6000", "[::ffff:203.0.113.5]:6000",
                            "[2001:db8::5]:6000"}) {
    EXPECT_FALSE(maker.Check(cookie, kParticipant, secret, Address(other), now)) << other;
  }
  HelloCookie flipped = cookie;
  flipped[0] ^= 1;
  EXPECT_FALSE(maker.Check(flipped, kParticipant, secret, from, now));
}

TEST(HelloCookieTest, AnotherKeyMakesOtherCookies) {
  HelloCookieMaker one(Key(3), kLifetime);
  HelloCookieMaker two(Key(4), kLifetime);
  const JoinSecret secret = Secret(3);
  const AddressKey from = Address("192.0.2.1:1000");
  const HelloCookie cookie = MakeOrFail(one, kParticipant, secret, from, At(seconds(5)));
  EXPECT_FALSE(two.Check(cookie, kParticipant, secret, from, At(seconds(5))));
  // Random keys: two draws differ (a 2^-256 chance of a false failure).
  EXPECT_NE(HelloCookieMaker::RandomKey(), HelloCookieMaker::RandomKey());
}

TEST(HelloCookieTest, RefusesANonPositiveLifetime) {
  EXPECT_THROW(HelloCookieMaker(Key(5), Clock::Duration::zero()), std::invalid_argument);
  EXPECT_THROW(HelloCookieMaker(Key(5), -kLifetime), std::invalid_argument);
}

}  // namespace
}  // namespace parley::relay
