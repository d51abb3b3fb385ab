#include "parley/session/signaling.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>

#include "parley/session/validation.h"

namespace parley::session {
namespace {

Join SampleJoin() {
  Join join;
  join.room = "standup";
  join.token = "eyJ2IjoxfQ.zCgratV9kf-wUFxtM7O8pRSB03gzDCwL1a9ksFKxwok";
  join.identity = "alice";
  join.ssrc = 0xdeadbeef;
  join.capabilities.codecs = {
      {"opus", 48000, 2, 111}, {"PCMU", 8000, 1, 0}, {"telephone-event", 48000, 1, 101}};
  join.capabilities.profiles = {"studio", "good", "critical"};
  return join;
}

Joined SampleJoined() {
  Joined joined;
  joined.participant_id = 7;
  joined.session_start_unix_ms = 1767225600123;
  joined.media.address = "203.0.113.7:40000";
  for (size_t i = 0; i < kHelloSecretBytes; ++i) {
    joined.media.hello_secret[i] = static_cast<uint8_t>(0xa0 + i);
  }
  joined.srtp = SrtpInfo{"AES_CM_128_HMAC_SHA1_80", std::vector<uint8_t>(30, 0x5a)};
  joined.peers = {{3, "bob", 1234}, {5, "carol", 0xffffffff}};
  return joined;
}

// The error of parsing `text` as a client message, with the code to answer with.
std::pair<std::string, ErrorCode> ClientError(std::string_view text) {
  ErrorCode code = ErrorCode::kInternal;
  Result<ClientMessage> message = ParseClientMessage(text, &code);
  if (message) return {"(parsed)", code};
  return {message.error().message, code};
}

std::string RelayError(std::string_view text) {
  Result<RelayMessage> message = ParseRelayMessage(text);
  return message ? "(parsed)" : message.error().message;
}

// A join message with `field` (a JSON member, e.g. "\"ssrc\":-1") replacing its default.
std::string JoinWith(std::string_view room, std::string_view ssrc, std::string_view codecs,
                     std::string_view extra = "") {
  return fmt::format(R"({{"v":1,"type":"join","room":{},"token":"t.k","ssrc":{},)"
                     R"("capabilities":{{"codecs":{},"profiles":["good"]}}{}}})",
                     room, ssrc, codecs, extra);
}
constexpr std::string_view kOpus =
    R"([{"name":"opus","clock_rate":48000,"channels":2,"payload_type":111}])";

TEST(SignalingTest, JoinRoundTripsAndReadsAsDocumented) {
  const std::string text = Serialize(SampleJoin());
  EXPECT_EQ(text,
            R"({"v":1,"type":"join","room":"standup",)"
            R"("token":"eyJ2IjoxfQ.zCgratV9kf-wUFxtM7O8pRSB03gzDCwL1a9ksFKxwok",)"
            R"("identity":"alice","ssrc":3735928559,"capabilities":{"codecs":[)"
            R"({"name":"opus","clock_rate":48000,"channels":2,"payload_type":111},)"
            R"({"name":"PCMU","clock_rate":8000,"channels":1,"payload_type":0},)"
            R"({"name":"telephone-event","clock_rate":48000,"channels":1,"payload_type":101}],)"
            R"("profiles":["studio","good","critical"]}})");
  Result<ClientMessage> parsed = ParseClientMessage(text);
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_TRUE(std::holds_alternative<Join>(*parsed));
  EXPECT_EQ(std::get<Join>(*parsed), SampleJoin());
}

TEST(SignalingTest, JoinOptionalFieldsMayBeAbsent) {
  Result<ClientMessage> parsed =
      ParseClientMessage(R"({"type":"join","v":1,"room":"r","ssrc":0,"capabilities":{"codecs":)" +
                         std::string(kOpus) + "}}");
  ASSERT_TRUE(parsed) << parsed.error().message;
  const Join& join = std::get<Join>(*parsed);
  EXPECT_TRUE(join.token.empty());
  EXPECT_TRUE(join.identity.empty());
  EXPECT_TRUE(join.capabilities.profiles.empty());
  EXPECT_EQ(std::get<Join>(*ParseClientMessage(Serialize(join))), join);
}

TEST(SignalingTest, LeaveRoundTrips) {
  EXPECT_EQ(Serialize(Leave{}), R"({"v":1,"type":"leave"})");
  Result<ClientMessage> parsed = ParseClientMessage(R"({"type":"leave","v":1})");
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(std::holds_alternative<Leave>(*parsed));
  EXPECT_EQ(ClientError(R"({"v":1,"type":"leave","room":"x"})").first,
            "leave: unknown field 'room'");
}

TEST(SignalingTest, JoinedRoundTrips) {
  const std::string text = Serialize(SampleJoined());
  EXPECT_EQ(text,
            R"({"v":1,"type":"joined","participant_id":7,"session_start_unix_ms":1767225600123,)"
            R"("media":{"address":"203.0.113.7:40000",)"
            R"("hello_secret":"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"},)"
            R"("srtp":{"suite":"AES_CM_128_HMAC_SHA1_80",)"
            R"("key_base64":"WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpa"},)"
            R"("peers":[{"participant_id":3,"identity":"bob","ssrc":1234},)"
            R"({"participant_id":5,"identity":"carol","ssrc":4294967295}]})");
  Result<RelayMessage> parsed = ParseRelayMessage(text);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(std::get<Joined>(*parsed), SampleJoined());

  Joined plain = SampleJoined();
  plain.srtp.reset();
  plain.peers.clear();
  plain.media.address = "[2001:db8::1]:40000";
  EXPECT_EQ(std::get<Joined>(*ParseRelayMessage(Serialize(plain))), plain);
}

TEST(SignalingTest, PeerEventsAndErrorsRoundTrip) {
  const PeerJoined joined{{9, "dave", 77}};
  EXPECT_EQ(Serialize(joined),
            R"({"v":1,"type":"peer_joined","participant_id":9,"identity":"dave","ssrc":77})");
  EXPECT_EQ(std::get<PeerJoined>(*ParseRelayMessage(Serialize(joined))), joined);

  const PeerLeft left{9};
  EXPECT_EQ(Serialize(left), R"({"v":1,"type":"peer_left","participant_id":9})");
  EXPECT_EQ(std::get<PeerLeft>(*ParseRelayMessage(Serialize(left))), left);

  const ErrorMessage error{ErrorCode::kRoomFull,
                           "room 'standup' has its 16 participants \xe2\x9c\x8b"};
  EXPECT_EQ(Serialize(error),
            R"({"v":1,"type":"error","code":"room_full","message":"room 'standup' has its 16 )"
            "participants \xe2\x9c\x8b\"}");
  EXPECT_EQ(std::get<ErrorMessage>(*ParseRelayMessage(Serialize(error))), error);

  // Through the variant overloads too.
  const RelayMessage as_variant = error;
  EXPECT_EQ(Serialize(as_variant), Serialize(error));
  const ClientMessage leave = Leave{};
  EXPECT_EQ(Serialize(leave), Serialize(Leave{}));
}

TEST(SignalingTest, EveryErrorCodeHasAWireName) {
  for (int i = 0; i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    const auto code = static_cast<ErrorCode>(i);
    const std::string_view name = ErrorCodeName(code);
    EXPECT_EQ(ErrorCodeFromName(name), code) << name;
    const ErrorMessage message{code, ""};
    EXPECT_EQ(std::get<ErrorMessage>(*ParseRelayMessage(Serialize(message))), message);
  }
  EXPECT_EQ(ErrorCodeName(ErrorCode::kBadMessage), "bad_message");
  EXPECT_FALSE(ErrorCodeFromName("no_such_code"));
  EXPECT_EQ(RelayError(R"({"v":1,"type":"error","code":"teapot","message":""})"),
            "error.code: unknown code 'teapot'");
}

TEST(SignalingTest, TokenErrorsMapToUnauthorizedOrExpired) {
  EXPECT_EQ(ErrorCodeFor(TokenError::kExpired), ErrorCode::kTokenExpired);
  for (TokenError error : {TokenError::kMissing, TokenError::kMalformed, TokenError::kForged,
                           TokenError::kWrongRoom}) {
    EXPECT_EQ(ErrorCodeFor(error), ErrorCode::kUnauthorized);
  }
}

TEST(SignalingTest, JoinFieldErrorsNameTheField) {
  const std::pair<std::string, std::string_view> cases[] = {
      {JoinWith(R"("r")", "-1", kOpus), "join.ssrc: expected an unsigned 32-bit integer (got -1)"},
      {JoinWith(R"("r")", "4294967296", kOpus),
       "join.ssrc: expected an unsigned 32-bit integer (got 4294967296)"},
      {JoinWith(R"("r")", "1.5", kOpus), "join.ssrc: expected an unsigned 32-bit integer"},
      {JoinWith(R"("r")", R"("5")", kOpus), "join.ssrc: expected an unsigned 32-bit integer"},
      {JoinWith(R"("r")", "18446744073709551615", kOpus),
       "join.ssrc: expected an unsigned 32-bit integer"},
      {JoinWith("7", "1", kOpus), "join.room: expected a string"},
      {JoinWith(R"("")", "1", kOpus),
       "join.room: expected 1..64 characters of A-Z a-z 0-9 . _ - (got 0 characters)"},
      {JoinWith(R"("a/b")", "1", kOpus),
       "join.room: expected 1..64 characters of A-Z a-z 0-9 . _ - (got 3 characters)"},
      {JoinWith('"' + std::string(65, 'r') + '"', "1", kOpus),
       "join.room: expected 1..64 characters of A-Z a-z 0-9 . _ - (got 65 characters)"},
      {JoinWith(R"("r")", "1", kOpus, R"(,"identity":"")"),
       "join.identity: expected 1..64 characters of A-Z a-z 0-9 . _ - (got 0 characters)"},
      {JoinWith(R"("r")", "1", kOpus, R"(,"colour":"blue")"), "join: unknown field 'colour'"},
      {JoinWith(R"("r")", "1", "[]"), "join.capabilities.codecs: expected 1..16 codecs (got 0)"},
      {JoinWith(R"("r")", "1", "{}"), "join.capabilities.codecs: expected an array"},
      {JoinWith(R"("r")", "1", "[1]"), "join.capabilities.codecs[0]: expected an object"},
      {JoinWith(R"("r")", "1", R"([{"name":"opus","clock_rate":48000,"channels":2}])"),
       "join.capabilities.codecs[0].payload_type: missing"},
      {JoinWith(R"("r")", "1",
                R"([{"name":"opus","clock_rate":48000,"channels":2,"payload_type":128}])"),
       "join.capabilities.codecs[0].payload_type: expected an integer 0..127 (got 128)"},
      {JoinWith(R"("r")", "1", R"([{"name":"opus","clock_rate":0,"channels":2,"payload_type":1}])"),
       "join.capabilities.codecs[0].clock_rate: expected an integer 1..1000000 (Hz) (got 0)"},
      {JoinWith(R"("r")", "1",
                R"([{"name":"opus","clock_rate":8000,"channels":9,"payload_type":1}])"),
       "join.capabilities.codecs[0].channels: expected an integer 1..8 (got 9)"},
      {JoinWith(R"("r")", "1",
                R"([{"name":"op us","clock_rate":8000,"channels":1,"payload_type":1}])"),
       "join.capabilities.codecs[0].name: expected 1..32 characters of A-Z a-z 0-9 . _ - "
       "(got 'op us')"},
      {JoinWith(R"("r")", "1",
                R"([{"name":"a","clock_rate":8000,"channels":1,"payload_type":1},)"
                R"({"name":"b","clock_rate":8000,"channels":1,"payload_type":1}])"),
       "join.capabilities.codecs[1].payload_type: 1 is already used by codecs[0]"},
      {JoinWith(R"("r")", "1",
                R"([{"name":"a","clock_rate":8000,"channels":1,"payload_type":1,"fmtp":""}])"),
       "join.capabilities.codecs[0]: unknown field 'fmtp'"},
      {R"({"v":1,"type":"join","room":"r","ssrc":1})", "join.capabilities: missing"},
      {R"({"v":1,"type":"join","ssrc":1})", "join.room: missing"},
      {R"({"v":1,"type":"join","room":"r","ssrc":1,"capabilities":[]})",
       "join.capabilities: expected an object"},
      {R"({"v":1,"type":"join","room":"r","ssrc":1,"token":"a b","capabilities":{"codecs":)" +
           std::string(kOpus) + "}}",
       "join.token: expected base64url characters and '.'"},
      {R"({"v":1,"type":"join","room":"r","ssrc":1,"capabilities":{"codecs":)" +
           std::string(kOpus) + R"(,"profiles":["good","good"]}})",
       "join.capabilities.profiles[1]: 'good' is listed twice"},
      {R"({"v":1,"type":"join","room":"r","ssrc":1,"capabilities":{"codecs":)" +
           std::string(kOpus) + R"(,"profiles":[3]}})",
       "join.capabilities.profiles[0]: expected a string"},
  };
  for (const auto& [text, message] : cases) {
    const auto [error, code] = ClientError(text);
    EXPECT_EQ(error, message) << text;
    EXPECT_EQ(code, ErrorCode::kBadMessage) << text;
  }
}

TEST(SignalingTest, AtMost16Codecs) {
  std::string codecs = "[";
  for (int i = 0; i < 17; ++i) {
    codecs += fmt::format(R"({}{{"name":"c{}","clock_rate":8000,"channels":1,"payload_type":{}}})",
                          i == 0 ? "" : ",", i, 96 + i);
  }
  codecs += "]";
  EXPECT_EQ(ClientError(JoinWith(R"("r")", "1", codecs)).first,
            "join.capabilities.codecs: 17 items > the 16 accepted");
  Join join = SampleJoin();
  join.capabilities.codecs.resize(16, {"x", 8000, 1, 0});
  for (int i = 0; i < 16; ++i) join.capabilities.codecs[i].payload_type = 96 + i;
  EXPECT_EQ(std::get<Join>(*ParseClientMessage(Serialize(join))), join);
}

TEST(SignalingTest, RelayMessageFieldErrorsNameTheField) {
  const std::string joined = Serialize(SampleJoined());
  auto replace = [&](std::string_view from, std::string_view to) {
    std::string text = joined;
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  EXPECT_EQ(RelayError(replace("203.0.113.7:40000", "relay.example:40000")),
            "joined.media.address: expected a numeric address such as 203.0.113.7:40000 or "
            "[2001:db8::1]:40000 (got 'relay.example:40000')");
  EXPECT_EQ(RelayError(replace("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "a0a1")),
            "joined.media.hello_secret: expected 32 hex digits");
  EXPECT_EQ(RelayError(replace("AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM")),
            "joined.srtp.key_base64: 30 bytes, AEAD_AES_128_GCM needs 28 (key + salt)");
  EXPECT_EQ(RelayError(replace("AES_CM_128_HMAC_SHA1_80", "NULL")),
            "joined.srtp.suite: unknown suite 'NULL' (AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM)");
  EXPECT_EQ(RelayError(replace("WlpaWlpa", "Wl!aWlpa")),
            "joined.srtp.key_base64: not base64 (invalid base64 character at offset 2)");
  EXPECT_EQ(RelayError(replace(R"("identity":"bob")", R"("identity":"")")),
            "joined.peers[0].identity: expected 1..64 characters of A-Z a-z 0-9 . _ - (got 0 "
            "characters)");
  EXPECT_EQ(RelayError(replace(R"("participant_id":5)", R"("participant_id":3)")),
            "joined.peers[1].participant_id: 3 is already used by peers[0]");
  EXPECT_EQ(RelayError(replace(R"("participant_id":3)", R"("participant_id":7)")),
            "joined.peers[0].participant_id: 7 is the client's own id");
  EXPECT_EQ(RelayError(replace("1767225600123", "-1")),
            "joined.session_start_unix_ms: expected a non-negative integer (Unix ms) (got -1)");
  EXPECT_EQ(RelayError(replace(R"(,"peers":[)", R"(,"extra":1,"peers":[)")),
            "joined: unknown field 'extra'");
  EXPECT_EQ(RelayError(R"({"v":1,"type":"peer_left"})"), "peer_left.participant_id: missing");
  EXPECT_EQ(RelayError(R"({"v":1,"type":"peer_joined","participant_id":1,"ssrc":2})"),
            "peer_joined.identity: missing");
  EXPECT_EQ(RelayError(R"({"v":1,"type":"error","code":"internal","message":)" + std::string("\"") +
                       std::string(kMaxErrorMessageBytes + 1, 'm') + "\"}"),
            "error.message: 1025 bytes > the 1024 accepted");
}

TEST(SignalingTest, MaximalJoinedFitsTheMessageLimit) {
  Joined joined = SampleJoined();
  joined.participant_id = 0xffffffff;
  joined.session_start_unix_ms = std::numeric_limits<int64_t>::max();
  joined.media.address = "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535";
  joined.peers.clear();
  for (uint32_t i = 0; i < kMaxPeers; ++i) {
    joined.peers.push_back({0xfffffff0 - i, std::string(kMaxNameChars, 'p'), 0xffffffff});
  }
  const std::string text = Serialize(joined);
  EXPECT_LT(text.size(), kMaxMessageBytes);
  EXPECT_EQ(std::get<Joined>(*ParseRelayMessage(text)), joined);
  joined.peers.push_back({1, "one-too-many", 1});
  EXPECT_THROW((void)Serialize(joined), std::invalid_argument);
}

TEST(SignalingTest, RefusesOtherVersions) {
  for (std::string_view text :
       {R"({"v":2,"type":"join"})", R"({"v":0,"type":"leave"})", R"({"v":-1,"type":"leave"})"}) {
    const auto [error, code] = ClientError(text);
    EXPECT_EQ(code, ErrorCode::kUnsupportedVersion) << text;
    EXPECT_NE(error.find("is not supported (this side speaks 1)"), std::string::npos) << error;
  }
  EXPECT_EQ(ClientError(R"({"v":2,"type":"join"})").first,
            "v: protocol version 2 is not supported (this side speaks 1)");
  EXPECT_EQ(ClientError(R"({"type":"leave"})"),
            std::pair(std::string("v: missing"), ErrorCode::kBadMessage));
  EXPECT_EQ(ClientError(R"({"v":"1","type":"leave"})").first, "v: expected an integer");
  EXPECT_EQ(ClientError(R"({"v":1.0,"type":"leave"})").first, "v: expected an integer");
}

TEST(SignalingTest, UnknownAndReservedTypesAreUnsupported) {
  EXPECT_EQ(
      ClientError(R"({"v":1,"type":"dance"})"),
      std::pair(std::string("unsupported message type 'dance'"), ErrorCode::kUnsupportedType));
  EXPECT_EQ(ClientError(R"({"v":1,"type":"joined"})").first,
            "unsupported message type 'joined' (a relay-to-client message)");
  EXPECT_EQ(RelayError(R"({"v":1,"type":"join"})"),
            "unsupported message type 'join' (a client-to-relay message)");
  ASSERT_EQ(ReservedMessageTypes().size(), 5u);
  for (std::string_view type : ReservedMessageTypes()) {
    const std::string text = fmt::format(R"({{"v":1,"type":"{}"}})", type);
    const std::string expected = fmt::format(
        "unsupported message type '{}' (reserved for the quality messages; not in protocol "
        "version 1)",
        type);
    EXPECT_EQ(ClientError(text), std::pair(expected, ErrorCode::kUnsupportedType));
    EXPECT_EQ(RelayError(text), expected);
  }
  EXPECT_EQ(ClientError(R"({"v":1})").first, "type: missing");
  EXPECT_EQ(ClientError(R"({"v":1,"type":7})").first, "type: expected a string");
  // A hostile type name is quoted safely and shortened.
  EXPECT_EQ(ClientError("{\"v\":1,\"type\":\"a\\nb\"}").first,
            "unsupported message type 'a\\x0ab'");
}

TEST(SignalingTest, RefusesGarbage) {
  for (std::string_view text :
       {"", "   ", "join", "{", "{\"v\":1,", "[1,2]", "42", "null", "\"join\"",
        "{\"v\":1,\"type\":\"leave\"} trailing", "\xff\xfe", "{\"v\":1,\"type\":\"\xc3\x28\"}"}) {
    const auto [error, code] = ClientError(text);
    EXPECT_NE(error, "(parsed)") << text;
    EXPECT_EQ(code, ErrorCode::kBadMessage) << text;
    EXPECT_NE(RelayError(text), "(parsed)") << text;
    // The relay answers with the error: its text must be fit for the wire (found by the
    // signaling server's fuzzer: the JSON library quoted the raw bytes it read last).
    EXPECT_NO_THROW((void)Serialize(ErrorMessage{code, error})) << text;
  }
  EXPECT_EQ(ClientError("[1,2]").first, "expected a JSON object");
  // Found by the fuzzer: the JSON library reports a number overflow with another exception.
  EXPECT_EQ(ClientError(R"({"v":1,"type":"leave","x":1E400})").first,
            "not JSON: number overflow parsing '1E400'");
  const std::string long_number =
      R"({"v":1,"type":"leave","x":1)" + std::string(500, '0') + "E999}";
  EXPECT_EQ(ClientError(long_number).first.size(), 10u + 160u + 3u);
  EXPECT_EQ(ClientError("{\"v\":1,").first.rfind("not JSON: parse error at line 1, column", 0), 0u);
}

TEST(SignalingTest, DeepNestingIsRefusedBeforeParsing) {
  // 8 levels are accepted as JSON (then refused for what they hold); 9 are not parsed.
  const std::string eight = R"({"v":1,"type":"leave","x":[[[[[[[1]]]]]]]})";
  EXPECT_EQ(ClientError(eight).first, "leave: unknown field 'x'");
  const std::string nine = R"({"v":1,"type":"leave","x":[[[[[[[[1]]]]]]]]})";
  EXPECT_EQ(ClientError(nine).first, "nested deeper than 8 levels at byte 33");
  // Brackets inside strings do not count.
  EXPECT_EQ(ClientError(R"({"v":1,"type":"[[[[[[[[[[[[\"{{{{{{{{{{"})").first.substr(0, 24),
            "unsupported message type");
  // A hostile nesting far beyond any stack, within the size limit.
  const std::string deep =
      std::string(kMaxMessageBytes / 2, '[') + std::string(kMaxMessageBytes / 2, ']');
  EXPECT_EQ(ClientError(deep).first, "nested deeper than 8 levels at byte 8");
  EXPECT_NE(RelayError(deep), "(parsed)");
}

TEST(SignalingTest, RefusesMessagesOver16KiB) {
  std::string text = R"({"v":1,"type":"leave","pad":")";
  text += std::string(kMaxMessageBytes - text.size() - 2, ' ');
  text += "\"}";
  ASSERT_EQ(text.size(), kMaxMessageBytes);
  EXPECT_EQ(ClientError(text).first, "leave: unknown field 'pad'");  // read, then refused
  text.insert(text.size() - 2, " ");
  EXPECT_EQ(ClientError(text).first, "message of 16385 bytes > the 16384 accepted");
}

TEST(SignalingTest, SerializeRefusesWhatTheParserWouldRefuse) {
  Join join = SampleJoin();
  join.room = "bad room";
  EXPECT_THROW((void)Serialize(join), std::invalid_argument);
  Joined joined = SampleJoined();
  joined.media.address = "0.0.0.0:0";
  EXPECT_THROW((void)Serialize(joined), std::invalid_argument);
  ErrorMessage error{ErrorCode::kInternal, "\xc3\x28"};
  EXPECT_THROW((void)Serialize(error), std::invalid_argument);
  PeerJoined peer{{1, "", 2}};
  EXPECT_THROW((void)Serialize(peer), std::invalid_argument);
  Join bad_codec = SampleJoin();
  bad_codec.capabilities.codecs[0].payload_type = 200;
  try {
    (void)Serialize(bad_codec);
    ADD_FAILURE() << "Serialize accepted payload type 200";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "Serialize: join.capabilities.codecs[0].payload_type: expected an integer "
                 "0..127 (got 200)");
  }
}

TEST(SignalingTest, HelloSecretsAreFreshPerCall) {
  const auto a = NewHelloSecret();
  const auto b = NewHelloSecret();
  EXPECT_NE(a, b);  // 2^-128 chance of a false failure
}

}  // namespace
}  // namespace parley::session
