#include "parley/session/validation.h"

#include <gtest/gtest.h>

#include <string>

namespace parley::session {
namespace {

TEST(ValidationTest, NamesAreOneTo64SafeCharacters) {
  EXPECT_TRUE(IsValidName("a"));
  EXPECT_TRUE(IsValidName("Team-42_standup.eu"));
  EXPECT_TRUE(IsValidName(std::string(64, 'x')));
  EXPECT_FALSE(IsValidName(""));
  EXPECT_FALSE(IsValidName(std::string(65, 'x')));
  for (std::string_view bad : {"a b", "a/b", "caf\xc3\xa9", "a:b", "a\nb", "../x/"}) {
    EXPECT_FALSE(IsValidName(bad)) << bad;
  }
}

TEST(ValidationTest, CheckNameNamesTheField) {
  Status status = CheckName("join.room", std::string(70, 'r'));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message,
            "join.room: expected 1..64 characters of A-Z a-z 0-9 . _ - (got 70 characters)");
  EXPECT_TRUE(CheckName("join.room", "r"));
}

TEST(ValidationTest, SocketAddressesAreNumeric) {
  for (std::string_view good : {"0.0.0.0:0", "127.0.0.1:40000", "203.0.113.7:65535", "[::1]:8443",
                                "[2001:db8::1]:1", "[::]:0", "[::ffff:192.0.2.1]:5"}) {
    EXPECT_TRUE(IsNumericSocketAddress(good)) << good;
  }
  for (std::string_view bad :
       {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:08", "127.0.0.1:+8",
        "relay.example:443", "::1:8443", "[::1]", "[::1:8443", "1.2.3:4", "256.1.1.1:1",
        "[fe80::1%eth0]:1", " 127.0.0.1:1", "127.0.0.1:1 "}) {
    EXPECT_FALSE(IsNumericSocketAddress(bad)) << bad;
  }
}

TEST(ValidationTest, CheckSocketAddressRefusesPortZeroWhenAsked) {
  EXPECT_TRUE(CheckSocketAddress("listen", "0.0.0.0:0", /*nonzero_port=*/false));
  Status status = CheckSocketAddress("media.address", "192.0.2.1:0", /*nonzero_port=*/true);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message, "media.address: port 0 is not reachable (got '192.0.2.1:0')");
  Status bad = CheckSocketAddress("media.address", "relay:1", false);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "media.address: expected a numeric address such as 203.0.113.7:40000 or "
            "[2001:db8::1]:40000 (got 'relay:1')");
}

TEST(ValidationTest, QuoteEscapesAndShortens) {
  EXPECT_EQ(Quote("join"), "'join'");
  EXPECT_EQ(Quote(std::string_view("a\nb'\\\0", 6)), "'a\\x0ab\\x27\\x5c\\x00'");
  EXPECT_EQ(Quote(std::string(50, 'z')), "'" + std::string(40, 'z') + "'...");
}

TEST(ValidationTest, JsonErrorTextDropsTheTagAndCuts) {
  EXPECT_EQ(JsonErrorText("[json.exception.parse_error.101] parse error at line 1, column 2: x"),
            "parse error at line 1, column 2: x");
  EXPECT_EQ(JsonErrorText("plain"), "plain");
  EXPECT_EQ(JsonErrorText(std::string(200, 'n')), std::string(160, 'n') + "...");
  // The library quotes the bytes it last read, whatever they are: the text stays UTF-8.
  EXPECT_EQ(JsonErrorText("last read: '\"\xff\x01'"), "last read: '\"\\xff\\x01'");
}

}  // namespace
}  // namespace parley::session
