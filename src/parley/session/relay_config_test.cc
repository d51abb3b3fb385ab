#include "parley/session/relay_config.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace parley::session {
namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef";  // 32 bytes: the minimum

std::string WithSecret(std::string_view rest = "") {
  return fmt::format(R"({{"token_secret":"{}"{}}})", kSecret, rest);
}

std::string ErrorOf(std::string_view json) {
  Result<RelayConfig> config = ParseRelayConfig(json);
  return config ? "(parsed)" : config.error().message;
}

TEST(RelayConfigTest, OnlyTheSecretIsRequired) {
  Result<RelayConfig> config = ParseRelayConfig(WithSecret());
  ASSERT_TRUE(config) << config.error().message;
  const RelayConfig defaults;
  EXPECT_EQ(config->token_secret, kSecret);
  EXPECT_EQ(config->listen_signaling, "0.0.0.0:8443");
  EXPECT_EQ(config->listen_media, "0.0.0.0:40000");
  EXPECT_EQ(config->public_media_address, "");
  EXPECT_EQ(config->max_rooms, 100);
  EXPECT_EQ(config->max_participants_per_room, 16);
  EXPECT_EQ(config->recording_dir, "");
  EXPECT_EQ(config->metrics_listen, "127.0.0.1:9464");
  EXPECT_EQ(config->tls_cert, "");
  EXPECT_FALSE(config->srtp);
  EXPECT_EQ(config->srtp_suite, defaults.srtp_suite);
}

TEST(RelayConfigTest, ReadsEveryKeyAndAllowsComments) {
  Result<RelayConfig> config = ParseRelayConfig(fmt::format(R"({{
    // The example of relay_config.h, and the rest.
    "token_secret": "{}",
    "listen_signaling": "[::]:443",
    "listen_media": "192.0.2.10:50000", /* one interface */
    "public_media_address": "203.0.113.7:50000",
    "max_rooms": 5,
    "max_participants_per_room": 100,
    "recording_dir": "/var/lib/parley/recordings",
    "metrics_listen": "",
    "tls_cert": "/etc/parley/cert.pem",
    "tls_key": "/etc/parley/key.pem",
    "srtp": true,
    "srtp_suite": "AEAD_AES_128_GCM"
  }})",
                                                            kSecret));
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->listen_signaling, "[::]:443");
  EXPECT_EQ(config->listen_media, "192.0.2.10:50000");
  EXPECT_EQ(config->public_media_address, "203.0.113.7:50000");
  EXPECT_EQ(config->max_rooms, 5);
  EXPECT_EQ(config->max_participants_per_room, 100);
  EXPECT_EQ(config->recording_dir, "/var/lib/parley/recordings");
  EXPECT_EQ(config->metrics_listen, "");
  EXPECT_EQ(config->tls_cert, "/etc/parley/cert.pem");
  EXPECT_EQ(config->tls_key, "/etc/parley/key.pem");
  EXPECT_TRUE(config->srtp);
  EXPECT_EQ(config->srtp_suite, "AEAD_AES_128_GCM");
}

TEST(RelayConfigTest, ErrorsNameTheKey) {
  EXPECT_EQ(ErrorOf("{}"), "token_secret: missing (make one with: openssl rand -base64 48)");
  EXPECT_EQ(ErrorOf(R"({"token_secret":"short"})"),
            "token_secret: 5 bytes < the 32 required (make one with: openssl rand -base64 48)");
  EXPECT_EQ(ErrorOf(R"({"token_secret":32})"), "token_secret: expected a string");
  EXPECT_EQ(ErrorOf(WithSecret(R"(,"max_room":5)")).substr(0, 44),
            "unknown key 'max_room' (known: listen_signal");
  EXPECT_EQ(ErrorOf(WithSecret(R"(,"max_rooms":0)")),
            "max_rooms: expected an integer 1..100000 (got '0')");
  EXPECT_EQ(ErrorOf(WithSecret(R"(,"max_rooms":"5")")),
            "max_rooms: expected an integer 1..100000 (got '\"5\"')");
  EXPECT_EQ(ErrorOf(WithSecret(R"(,"max_participants_per_room":101)")),
            "max_participants_per_room: expected an integer 1..100 (got '101')");
  EXPECT_EQ(ErrorOf(WithSecret(R"(,"max_rooms":1e3)")),
            "max_rooms: expected an integer 1..100000 (got '1000.0')");
  EXPECT_EQ(ErrorOf(WithSecret(R"(,"listen_media":"localhost:4000")")),
            "listen_media: expected a numeric address such as 203.0.113.7:40000 or "
            "[2001:db8::1]:40000 (got 'localhost:4000')");
  EXPECT_EQ(ErrorOf(WithSecret(R"(,"public_media_address":"0.0.0.0:40000")")),
            "public_media_address: 0.0.0.0:40000 is a wildcard, not an address clients can "
            "reach");
  EXPECT_EQ(ErrorOf(WithSecret(R"(,"public_media_address":"203.0.113.7:0")")),
            "public_media_address: port 0 is not reachable (got '203.0.113.7:0')");
  EXPECT_EQ(ErrorOf(WithSecret(R"(,"metrics_listen":"9464")")).substr(0, 46),
            "metrics_listen: expected a numeric address suc");
  EXPECT_EQ(ErrorOf(WithSecret(R"(,"tls_cert":"c.pem")")),
            "tls_key: missing (tls_cert is set; give both or neither)");
  EXPECT_EQ(ErrorOf(WithSecret(R"(,"tls_key":"k.pem")")),
            "tls_cert: missing (tls_key is set; give both or neither)");
  EXPECT_EQ(ErrorOf(WithSecret(R"(,"srtp":1)")), "srtp: expected true or false");
  EXPECT_EQ(ErrorOf(WithSecret(R"(,"srtp_suite":"AES_256_CM")")),
            "srtp_suite: unknown suite 'AES_256_CM' (AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM)");
  EXPECT_EQ(ErrorOf("[]"), "expected a JSON object of settings");
  EXPECT_EQ(ErrorOf("{\n  \"max_rooms\": 5,\n  oops\n}").substr(0, 41),
            "not JSON: parse error at line 3, column 3");
}

TEST(RelayConfigTest, LoadNamesTheFile) {
  char dir_template[] = "/tmp/parley_relay_config_XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/relay.json";
  Result<RelayConfig> missing = LoadRelayConfig(path);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, path + ": cannot read (No such file or directory)");

  std::ofstream(path) << WithSecret(R"(,"max_rooms":-3)");
  Result<RelayConfig> bad = LoadRelayConfig(path);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, path + ": max_rooms: expected an integer 1..100000 (got '-3')");

  std::ofstream(path) << WithSecret(R"(,"max_rooms":3)");
  Result<RelayConfig> good = LoadRelayConfig(path);
  ASSERT_TRUE(good) << good.error().message;
  EXPECT_EQ(good->max_rooms, 3);
  std::remove(path.c_str());
  rmdir(dir_template);
}

}  // namespace
}  // namespace parley::session
