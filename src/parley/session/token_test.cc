#include "parley/session/token.h"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>

#include "parley/session/encoding.h"

namespace parley::session {
namespace {

// 43 bytes: above kMinSecretBytes. Also the key of the known answers below.
constexpr std::string_view kSecret = "parley-known-answer-secret-0123456789abcdef";
constexpr int64_t kExp = 1767225600;  // 2026-01-01T00:00:00Z

TokenClaims Claims() {
  return {.room = "standup",
          .identity = "alice",
          .expires_unix_s = kExp,
          .rights = Rights::kPublish | Rights::kSubscribe};
}

// A token whose claims are `json`, signed with kSecret: authentic, whatever it says.
std::string SignRaw(std::string_view json) {
  std::string token = Base64UrlEncode(AsBytes(json));
  const auto mac = HmacSha256(kSecret, token);
  return token + "." + Base64UrlEncode(mac);
}

// Expected values computed outside parley, with
//   printf '%s' MESSAGE | openssl dgst -sha256 -hmac KEY
TEST(TokenTest, HmacMatchesOpenSslCommandLine) {
  EXPECT_EQ(HexEncode(HmacSha256(kSecret, "The quick brown fox jumps over the lazy dog")),
            "907febbc162eba08896177d525e6d8e35719f7540a6ce6f5c369622c54c37547");
  // RFC 4231 test case 2.
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// The whole token pinned, computed with coreutils and openssl:
//   P=$(printf '%s' "$CLAIMS" | basenc --base64url | tr -d '=\n')
//   printf '%s' "$P" | openssl dgst -sha256 -hmac "$SECRET" -binary | basenc --base64url
TEST(TokenTest, MintedTokenMatchesKnownAnswer) {
  EXPECT_EQ(MintToken(Claims(), kSecret),
            "eyJ2IjoxLCJyb29tIjoic3RhbmR1cCIsInN1YiI6ImFsaWNlIiwiZXhwIjoxNzY3MjI1NjAwLCJyaWdodHMi"
            "OlsicHVibGlzaCIsInN1YnNjcmliZSJdfQ"
            ".zCgratV9kf-wUFxtM7O8pRSB03gzDCwL1a9ksFKxwok");
}

TEST(TokenTest, RoundTrips) {
  for (Rights rights : {Rights::kNone, Rights::kPublish, Rights::kSubscribe, Rights::kAdmin,
                        Rights::kPublish | Rights::kSubscribe | Rights::kAdmin}) {
    TokenClaims claims = Claims();
    claims.rights = rights;
    claims.identity = std::string(64, 'i');
    claims.room = std::string(64, 'r');
    const std::string token = MintToken(claims, kSecret);
    EXPECT_LE(token.size(), 350u);
    TokenCheck check = VerifyToken(token, kSecret, claims.room, kExp - 10);
    ASSERT_TRUE(check.ok()) << check.message;
    EXPECT_EQ(*check.claims, claims);
    EXPECT_TRUE(check.message.empty());
  }
}

TEST(TokenTest, EverySingleCharacterChangeIsRefused) {
  const std::string token = MintToken(Claims(), kSecret);
  std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  alphabet += ".=+/ \n";
  alphabet += '\0';
  size_t variants = 0;
  std::set<TokenError> seen;
  auto expect_refused = [&](const std::string& variant) {
    TokenCheck check = VerifyToken(variant, kSecret, "standup", kExp - 10);
    ASSERT_FALSE(check.ok()) << variant;
    EXPECT_TRUE(check.error == TokenError::kForged || check.error == TokenError::kMalformed)
        << variant << ": " << check.message;
    seen.insert(check.error);
    ++variants;
  };
  for (size_t i = 0; i < token.size(); ++i) {
    for (char c : alphabet) {
      if (c == token[i]) continue;
      std::string substituted = token;
      substituted[i] = c;
      expect_refused(substituted);
    }
    std::string deleted = token;
    deleted.erase(i, 1);
    expect_refused(deleted);
    std::string inserted = token;
    inserted.insert(i, 1, 'A');
    expect_refused(inserted);
  }
  EXPECT_GT(variants, 10000u);
  // Both kinds occur: a changed claim is a forgery, a broken encoding is malformed.
  EXPECT_EQ(seen.size(), 2u);
}

TEST(TokenTest, RefusesANonCanonicalSignatureEncoding) {
  const std::string token = MintToken(Claims(), kSecret);
  // The last of 43 characters carries 4 bits of the MAC and 2 unused bits: flipping an
  // unused bit would decode to the same MAC if the decoder tolerated it.
  std::string altered = token;
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const size_t index = alphabet.find(altered.back());
  altered.back() = alphabet[index ^ 1];
  TokenCheck check = VerifyToken(altered, kSecret, "standup", kExp);
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.error, TokenError::kMalformed);
}

TEST(TokenTest, ExpiresAfterExpWithNoLeeway) {
  const std::string token = MintToken(Claims(), kSecret);
  EXPECT_TRUE(VerifyToken(token, kSecret, "standup", kExp).ok());
  TokenCheck check = VerifyToken(token, kSecret, "standup", kExp + 1);
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.error, TokenError::kExpired);
  EXPECT_EQ(check.message, "token expired at 2026-01-01T00:00:00Z");
  EXPECT_EQ(TokenErrorName(check.error), "expired");
}

TEST(TokenTest, RefusesAnotherRoom) {
  TokenCheck check = VerifyToken(MintToken(Claims(), kSecret), kSecret, "board", kExp);
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.error, TokenError::kWrongRoom);
  EXPECT_EQ(check.message, "token is for room 'standup', not 'board'");
}

TEST(TokenTest, WrongRoomIsReportedBeforeExpiry) {
  TokenCheck check = VerifyToken(MintToken(Claims(), kSecret), kSecret, "board", kExp + 100);
  EXPECT_EQ(check.error, TokenError::kWrongRoom);
}

TEST(TokenTest, RefusesAMissingToken) {
  TokenCheck check = VerifyToken("", kSecret, "standup", kExp);
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.error, TokenError::kMissing);
  EXPECT_EQ(check.message, "no token");
}

TEST(TokenTest, ATokenOfAnotherSecretIsForged) {
  const std::string other_secret(40, 'k');
  TokenCheck check = VerifyToken(MintToken(Claims(), other_secret), kSecret, "standup", kExp);
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.error, TokenError::kForged);
  EXPECT_EQ(check.message,
            "token signature does not match (altered, or signed with another secret)");
}

TEST(TokenTest, MalformedShapes) {
  const std::string token = MintToken(Claims(), kSecret);
  const std::string claims_part = token.substr(0, token.find('.'));
  for (const std::string& bad :
       {std::string("."), std::string("abc"), claims_part, claims_part + ".",
        "." + token.substr(token.find('.') + 1), token + ".x", claims_part + ".AAAA",
        std::string(kMaxTokenChars + 1, 'A')}) {
    TokenCheck check = VerifyToken(bad, kSecret, "standup", kExp);
    ASSERT_FALSE(check.ok()) << bad;
    EXPECT_EQ(check.error, TokenError::kMalformed) << bad << ": " << check.message;
  }
}

// Claims signed with the right secret but not in the documented form: a minter bug or a
// future version, refused as malformed after the MAC matched.
TEST(TokenTest, AuthenticButUnreadableClaimsAreMalformed) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {R"({"v":2,"room":"standup","sub":"alice","exp":1,"rights":[]})",
       "token claims.v: unsupported token version 2 (this build reads 1)"},
      {R"({"v":1,"room":"standup","sub":"alice","exp":1,"rights":[],"aud":"x"})",
       "token claims: unknown key 'aud'"},
      {R"({"v":1,"room":"standup","sub":"alice","rights":[]})",
       "token claims.exp: expected an integer (Unix seconds)"},
      {R"({"v":1,"room":"standup","sub":"alice","exp":1.5,"rights":[]})",
       "token claims.exp: expected an integer (Unix seconds)"},
      {R"({"v":1,"room":"standup","sub":"a b","exp":1,"rights":[]})",
       "token claims.sub: expected 1..64 characters of A-Z a-z 0-9 . _ - (got 3 characters)"},
      {R"({"v":1,"room":"standup","sub":"alice","exp":1,"rights":["owner"]})",
       "token claims.rights[0]: unknown right 'owner' (publish, subscribe, admin)"},
      {R"({"v":1,"room":"standup","sub":"alice","exp":1,"rights":"publish"})",
       "token claims.rights: expected an array of strings"},
      {R"([1,2,3])", "token claims are not a JSON object"},
      {"not json", "token claims are not a JSON object"},
  };
  for (const auto& [json, message] : cases) {
    TokenCheck check = VerifyToken(SignRaw(json), kSecret, "standup", 0);
    ASSERT_FALSE(check.ok()) << json;
    EXPECT_EQ(check.error, TokenError::kMalformed) << json;
    EXPECT_EQ(check.message, message);
  }
  // The same form with v 1 is accepted: SignRaw itself is sound.
  EXPECT_TRUE(VerifyToken(SignRaw(R"({"v":1,"room":"standup","sub":"alice","exp":1,"rights":[]})"),
                          kSecret, "standup", 0)
                  .ok());
}

TEST(TokenTest, ParsesRightsByName) {
  const std::vector<std::string> all{"admin", "publish", "subscribe"};
  Result<Rights> rights = ParseRights(all);
  ASSERT_TRUE(rights);
  EXPECT_EQ(*rights, Rights::kPublish | Rights::kSubscribe | Rights::kAdmin);
  EXPECT_EQ(RightNames(*rights), (std::vector<std::string_view>{"publish", "subscribe", "admin"}));
  EXPECT_EQ(*ParseRights(std::vector<std::string>{}), Rights::kNone);
  EXPECT_TRUE(HasRights(*rights, Rights::kPublish | Rights::kAdmin));
  EXPECT_FALSE(HasRights(Rights::kSubscribe, Rights::kPublish));

  Result<Rights> unknown = ParseRights(std::vector<std::string>{"publish", "Publish"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message,
            "rights[1]: unknown right 'Publish' (publish, subscribe, admin)");
  Result<Rights> twice = ParseRights(std::vector<std::string>{"subscribe", "subscribe"});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message, "rights[1]: 'subscribe' given twice");
}

TEST(TokenTest, ShortSecretsAndBadNamesAreApiMisuse) {
  const std::string short_secret(kMinSecretBytes - 1, 's');
  EXPECT_THROW((void)MintToken(Claims(), short_secret), std::invalid_argument);
  EXPECT_THROW((void)VerifyToken("a.b", short_secret, "standup", 0), std::invalid_argument);
  TokenClaims bad_room = Claims();
  bad_room.room = "no spaces";
  EXPECT_THROW((void)MintToken(bad_room, kSecret), std::invalid_argument);
  TokenClaims no_identity = Claims();
  no_identity.identity.clear();
  EXPECT_THROW((void)MintToken(no_identity, kSecret), std::invalid_argument);
}

}  // namespace
}  // namespace parley::session
