#include "parley/session/encoding.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "parley/base/random.h"

namespace parley::session {
namespace {

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

// RFC 4648 §10 test vectors.
TEST(EncodingTest, Base64MatchesRfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {{"", ""},
                                                                   {"f", "Zg=="},
                                                                   {"fo", "Zm8="},
                                                                   {"foo", "Zm9v"},
                                                                   {"foob", "Zm9vYg=="},
                                                                   {"fooba", "Zm9vYmE="},
                                                                   {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(AsBytes(plain)), encoded);
    Result<std::vector<uint8_t>> decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded) << encoded << ": " << decoded.error().message;
    EXPECT_EQ(*decoded, Bytes(plain));
    // base64url drops the padding and nothing else for these.
    std::string url(encoded);
    while (!url.empty() && url.back() == '=') url.pop_back();
    EXPECT_EQ(Base64UrlEncode(AsBytes(plain)), url);
    ASSERT_TRUE(Base64UrlDecode(url));
    EXPECT_EQ(*Base64UrlDecode(url), Bytes(plain));
  }
}

TEST(EncodingTest, Base64UrlUsesTheUrlSafeAlphabet) {
  const std::vector<uint8_t> bytes{0xfb, 0xff, 0xbf};
  EXPECT_EQ(Base64Encode(bytes), "+/+/");
  EXPECT_EQ(Base64UrlEncode(bytes), "-_-_");
  EXPECT_EQ(*Base64UrlDecode("-_-_"), bytes);
  EXPECT_FALSE(Base64UrlDecode("+/+/"));
  EXPECT_FALSE(Base64Decode("-_-_"));
}

TEST(EncodingTest, RoundTripsRandomBytesOfEveryLengthUpTo100) {
  Random random(7);
  for (size_t length = 0; length <= 100; ++length) {
    std::vector<uint8_t> bytes(length);
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(random.NextU64());
    EXPECT_EQ(*Base64Decode(Base64Encode(bytes)), bytes) << length;
    EXPECT_EQ(*Base64UrlDecode(Base64UrlEncode(bytes)), bytes) << length;
    EXPECT_EQ(*HexDecode(HexEncode(bytes)), bytes) << length;
  }
}

TEST(EncodingTest, RefusesNonCanonicalText) {
  // "Zg==" is "f"; "Zh==" sets bits past the byte, which decoders would otherwise ignore.
  EXPECT_FALSE(Base64Decode("Zh=="));
  EXPECT_FALSE(Base64UrlDecode("Zh"));
  EXPECT_FALSE(Base64Decode("Zg="));  // padding short
  EXPECT_FALSE(Base64Decode("Zg"));   // padding missing
  EXPECT_FALSE(Base64Decode("Zm9v===="));
  EXPECT_FALSE(Base64UrlDecode("Zg=="));   // base64url carries no padding
  EXPECT_FALSE(Base64UrlDecode("Zm9vY"));  // 4n+1 characters encode no byte string
}

TEST(EncodingTest, ErrorsNameTheOffset) {
  Result<std::vector<uint8_t>> bad = Base64UrlDecode("abc$def");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "invalid base64url character at offset 3");
  Result<std::vector<uint8_t>> bad_std = Base64Decode("ab c");
  ASSERT_FALSE(bad_std);
  EXPECT_EQ(bad_std.error().message, "invalid base64 character at offset 2");
  Result<std::vector<uint8_t>> bad_hex = HexDecode("00fg");
  ASSERT_FALSE(bad_hex);
  EXPECT_EQ(bad_hex.error().message, "invalid hex digit at offset 3");
  EXPECT_FALSE(HexDecode("abc"));
}

TEST(EncodingTest, HexIsLowercaseAndDecodesEitherCase) {
  const std::vector<uint8_t> bytes{0x00, 0xab, 0xcd, 0xef, 0x10};
  EXPECT_EQ(HexEncode(bytes), "00abcdef10");
  EXPECT_EQ(*HexDecode("00ABCDEF10"), bytes);
}

}  // namespace
}  // namespace parley::session
