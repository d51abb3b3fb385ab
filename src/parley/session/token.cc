#include "parley/session/token.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

#include "parley/session/encoding.h"
#include "parley/session/validation.h"

namespace parley::session {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr size_t kMacBytes = 32;

struct RightName {
  Rights right;
  std::string_view name;
};
// Also the order in which minted tokens list rights.
constexpr std::array<RightName, 3> kRightNames{{
    {Rights::kPublish, "publish"},
    {Rights::kSubscribe, "subscribe"},
    {Rights::kAdmin, "admin"},
}};

void CheckSecret(std::string_view secret, const char* function) {
  if (secret.size() < kMinSecretBytes) {
    throw std::invalid_argument(fmt::format("{}: secret of {} bytes < the {} required", function,
                                            secret.size(), kMinSecretBytes));
  }
}

TokenCheck Refuse(TokenError error, std::string message) {
  TokenCheck check;
  check.error = error;
  check.message = std::move(message);
  return check;
}

// "2026-01-01T00:00:00Z", or the bare number when the C library cannot represent it.
std::string FormatUnixSeconds(int64_t unix_s) {
  const auto time = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  std::array<char, 32> text{};
  if (static_cast<int64_t>(time) != unix_s || gmtime_r(&time, &tm) == nullptr ||
      std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    return fmt::format("Unix time {}", unix_s);
  }
  return text.data();
}

// The claims of an authentic token, or an Error naming the key at fault.
Result<TokenClaims> ParseClaims(std::string_view json_text) {
  const Json json = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return Error{"claims are not a JSON object"};
  for (const auto& [key, value] : json.items()) {
    if (key != "v" && key != "room" && key != "sub" && key != "exp" && key != "rights") {
      return Error{fmt::format("claims: unknown key {}", Quote(key))};
    }
  }
  const auto version = json.find("v");
  if (version == json.end() || !version->is_number_integer()) {
    return Error{"claims.v: expected an integer"};
  }
  if (version->get<int64_t>() != kTokenVersion) {
    return Error{fmt::format("claims.v: unsupported token version {} (this build reads {})",
                             version->dump(), kTokenVersion)};
  }
  TokenClaims claims;
  const std::array<std::pair<const char*, std::string*>, 2> names{
      {{"room", &claims.room}, {"sub", &claims.identity}}};
  for (auto [key, target] : names) {
    const auto value = json.find(key);
    if (value == json.end() || !value->is_string()) {
      return Error{fmt::format("claims.{}: expected a string", key)};
    }
    *target = value->get<std::string>();
    if (Status status = CheckName(fmt::format("claims.{}", key), *target); !status) {
      return status.error();
    }
  }
  const auto exp = json.find("exp");
  // Non-negative integers parse as unsigned; those above INT64_MAX are not Unix times.
  if (exp == json.end() || !exp->is_number_integer() ||
      (exp->is_number_unsigned() &&
       exp->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))) {
    return Error{"claims.exp: expected an integer (Unix seconds)"};
  }
  claims.expires_unix_s = exp->get<int64_t>();
  const auto rights = json.find("rights");
  if (rights == json.end() || !rights->is_array()) {
    return Error{"claims.rights: expected an array of strings"};
  }
  std::vector<std::string> right_names;
  for (const Json& name : *rights) {
    if (!name.is_string()) return Error{"claims.rights: expected an array of strings"};
    right_names.push_back(name.get<std::string>());
  }
  Result<Rights> parsed = ParseRights(right_names);
  if (!parsed) return Error{fmt::format("claims.{}", parsed.error().message)};
  claims.rights = *parsed;
  return claims;
}

}  // namespace

Result<Rights> ParseRights(std::span<const std::string> names) {
  Rights rights = Rights::kNone;
  for (size_t i = 0; i < names.size(); ++i) {
    const RightName* found = nullptr;
    for (const RightName& known : kRightNames) {
      if (known.name == names[i]) found = &known;
    }
    if (found == nullptr) {
      return Error{fmt::format("rights[{}]: unknown right {} (publish, subscribe, admin)", i,
                               Quote(names[i]))};
    }
    if (HasRights(rights, found->right)) {
      return Error{fmt::format("rights[{}]: '{}' given twice", i, found->name)};
    }
    rights = rights | found->right;
  }
  return rights;
}

std::vector<std::string_view> RightNames(Rights rights) {
  std::vector<std::string_view> names;
  for (const RightName& known : kRightNames) {
    if (HasRights(rights, known.right)) names.push_back(known.name);
  }
  return names;
}

std::string_view TokenErrorName(TokenError error) {
  switch (error) {
    case TokenError::kMissing:
      return "missing";
    case TokenError::kMalformed:
      return "malformed";
    case TokenError::kForged:
      return "forged";
    case TokenError::kWrongRoom:
      return "wrong_room";
    case TokenError::kExpired:
      return "expired";
  }
  return "unknown";
}

std::array<uint8_t, 32> HmacSha256(std::string_view key, std::string_view message) {
  std::array<uint8_t, kMacBytes> mac{};
  size_t mac_bytes = 0;
  // EVP_Q_mac wants a non-null key pointer even for an empty key.
  static constexpr char kEmpty = '\0';
  const unsigned char* result =
      EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.empty() ? &kEmpty : key.data(),
                key.size(), reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                mac.data(), mac.size(), &mac_bytes);
  // Fails only when OpenSSL has no HMAC or SHA-256: a broken installation, not bad input.
  if (result == nullptr || mac_bytes != kMacBytes) {
    throw std::runtime_error("HMAC-SHA256 is not available from OpenSSL");
  }
  return mac;
}

std::string MintToken(const TokenClaims& claims, std::string_view secret) {
  CheckSecret(secret, "MintToken");
  for (const Status& status :
       {CheckName("room", claims.room), CheckName("identity", claims.identity)}) {
    if (!status) throw std::invalid_argument("MintToken: " + status.error().message);
  }
  OrderedJson json;
  json["v"] = kTokenVersion;
  json["room"] = claims.room;
  json["sub"] = claims.identity;
  json["exp"] = claims.expires_unix_s;
  json["rights"] = OrderedJson::array();
  for (std::string_view name : RightNames(claims.rights)) json["rights"].push_back(name);
  std::string token = Base64UrlEncode(AsBytes(json.dump()));
  const std::array<uint8_t, kMacBytes> mac = HmacSha256(secret, token);
  token += '.';
  token += Base64UrlEncode(mac);
  return token;
}

TokenCheck VerifyToken(std::string_view token, std::string_view secret, std::string_view room,
                       int64_t now_unix_s) {
  CheckSecret(secret, "VerifyToken");
  if (token.empty()) return Refuse(TokenError::kMissing, "no token");
  if (token.size() > kMaxTokenChars) {
    return Refuse(TokenError::kMalformed, fmt::format("token of {} characters > the {} accepted",
                                                      token.size(), kMaxTokenChars));
  }
  const size_t dot = token.find('.');
  if (dot == 0 || dot == std::string_view::npos ||
      token.find('.', dot + 1) != std::string_view::npos) {
    return Refuse(TokenError::kMalformed,
                  "token: expected two non-empty parts separated by one '.'");
  }
  const std::string_view claims_part = token.substr(0, dot);
  const std::string_view mac_part = token.substr(dot + 1);
  Result<std::vector<uint8_t>> claims_bytes = Base64UrlDecode(claims_part);
  if (!claims_bytes) {
    return Refuse(TokenError::kMalformed, "token claims: " + claims_bytes.error().message);
  }
  Result<std::vector<uint8_t>> mac = Base64UrlDecode(mac_part);
  if (!mac) return Refuse(TokenError::kMalformed, "token signature: " + mac.error().message);
  if (mac->size() != kMacBytes) {
    return Refuse(TokenError::kMalformed,
                  fmt::format("token signature: {} bytes, expected {}", mac->size(), kMacBytes));
  }
  const std::array<uint8_t, kMacBytes> expected = HmacSha256(secret, claims_part);
  if (CRYPTO_memcmp(expected.data(), mac->data(), kMacBytes) != 0) {
    return Refuse(TokenError::kForged,
                  "token signature does not match (altered, or signed with another secret)");
  }
  const std::string_view json_text(reinterpret_cast<const char*>(claims_bytes->data()),
                                   claims_bytes->size());
  Result<TokenClaims> claims = ParseClaims(json_text);
  if (!claims) return Refuse(TokenError::kMalformed, "token " + claims.error().message);
  if (claims->room != room) {
    return Refuse(TokenError::kWrongRoom,
                  fmt::format("token is for room '{}', not {}", claims->room, Quote(room)));
  }
  if (now_unix_s > claims->expires_unix_s) {
    return Refuse(TokenError::kExpired,
                  fmt::format("token expired at {}", FormatUnixSeconds(claims->expires_unix_s)));
  }
  TokenCheck check;
  check.claims = std::move(claims).value();
  return check;
}

}  // namespace parley::session
