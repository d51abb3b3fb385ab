#include "parley/session/signaling.h"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <algorithm>
#include <initializer_list>
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

constexpr uint32_t kMaxClockRateHz = 1'000'000;
constexpr int kMaxChannels = 8;
constexpr int kMaxPayloadType = 127;

constexpr std::array<std::string_view, 5> kReservedTypes{
    "quality_directive", "upgrade_proposal", "upgrade_confirm", "upgrade_accept", "upgrade_reject"};
constexpr std::array<std::string_view, 2> kClientTypes{"join", "leave"};
constexpr std::array<std::string_view, 4> kRelayTypes{"joined", "peer_joined", "peer_left",
                                                      "error"};

struct SrtpSuite {
  std::string_view name;
  size_t key_bytes;  // master key + master salt
};
constexpr std::array<SrtpSuite, 2> kSrtpSuites{{
    {"AES_CM_128_HMAC_SHA1_80", 16 + 14},
    {"AEAD_AES_128_GCM", 16 + 12},
}};

constexpr std::array<std::pair<ErrorCode, std::string_view>, 11> kErrorCodeNames{{
    {ErrorCode::kBadMessage, "bad_message"},
    {ErrorCode::kUnsupportedVersion, "unsupported_version"},
    {ErrorCode::kUnsupportedType, "unsupported_type"},
    {ErrorCode::kUnauthorized, "unauthorized"},
    {ErrorCode::kTokenExpired, "token_expired"},
    {ErrorCode::kForbidden, "forbidden"},
    {ErrorCode::kRoomFull, "room_full"},
    {ErrorCode::kRelayFull, "relay_full"},
    {ErrorCode::kSsrcInUse, "ssrc_in_use"},
    {ErrorCode::kAlreadyJoined, "already_joined"},
    {ErrorCode::kInternal, "internal"},
}};

template <size_t N>
bool Contains(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// ---- rules on the structs, shared by parsing and Serialize -------------------------------

// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
// The JSON parser enforces the same on what it reads.
bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    uint32_t min = 0;
    uint32_t code = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xe0) == 0xc0) {
      length = 2, min = 0x80, code = lead & 0x1f;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3, min = 0x800, code = lead & 0x0f;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4, min = 0x10000, code = lead & 0x07;
    } else {
      return false;
    }
    if (text.size() - i < length) return false;
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    i += length;
  }
  return true;
}

bool IsTokenChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

Error RangeError(std::string_view field, int64_t value, int64_t low, int64_t high) {
  return Error{fmt::format("{}: expected an integer {}..{} (got {})", field, low, high, value)};
}

Status ValidateCodec(const CodecCapability& codec, const std::string& field) {
  if (codec.name.empty() || codec.name.size() > kMaxCodecNameChars || !IsValidName(codec.name)) {
    return Error{fmt::format("{}.name: expected 1..{} characters of A-Z a-z 0-9 . _ - (got {})",
                             field, kMaxCodecNameChars, Quote(codec.name))};
  }
  if (codec.clock_rate_hz < 1 || codec.clock_rate_hz > kMaxClockRateHz) {
    return RangeError(field + ".clock_rate", codec.clock_rate_hz, 1, kMaxClockRateHz);
  }
  if (codec.channels < 1 || codec.channels > kMaxChannels) {
    return RangeError(field + ".channels", codec.channels, 1, kMaxChannels);
  }
  if (codec.payload_type < 0 || codec.payload_type > kMaxPayloadType) {
    return RangeError(field + ".payload_type", codec.payload_type, 0, kMaxPayloadType);
  }
  return Status::Ok();
}

Status Validate(const Join& join) {
  if (Status status = CheckName("join.room", join.room); !status) return status;
  if (join.token.size() > kMaxTokenChars) {
    return Error{fmt::format("join.token: {} characters > the {} accepted", join.token.size(),
                             kMaxTokenChars)};
  }
  if (!std::all_of(join.token.begin(), join.token.end(), IsTokenChar)) {
    return Error{"join.token: expected base64url characters and '.'"};
  }
  if (!join.identity.empty()) {
    if (Status status = CheckName("join.identity", join.identity); !status) return status;
  }
  const std::vector<CodecCapability>& codecs = join.capabilities.codecs;
  if (codecs.empty() || codecs.size() > kMaxCodecs) {
    return Error{fmt::format("join.capabilities.codecs: expected 1..{} codecs (got {})", kMaxCodecs,
                             codecs.size())};
  }
  for (size_t i = 0; i < codecs.size(); ++i) {
    const std::string field = fmt::format("join.capabilities.codecs[{}]", i);
    if (Status status = ValidateCodec(codecs[i], field); !status) return status;
    for (size_t k = 0; k < i; ++k) {
      if (codecs[k].payload_type == codecs[i].payload_type) {
        return Error{fmt::format("{}.payload_type: {} is already used by codecs[{}]", field,
                                 codecs[i].payload_type, k)};
      }
    }
  }
  const std::vector<std::string>& profiles = join.capabilities.profiles;
  if (profiles.size() > kMaxProfiles) {
    return Error{fmt::format("join.capabilities.profiles: {} names > the {} accepted",
                             profiles.size(), kMaxProfiles)};
  }
  for (size_t i = 0; i < profiles.size(); ++i) {
    const std::string field = fmt::format("join.capabilities.profiles[{}]", i);
    if (Status status = CheckName(field, profiles[i]); !status) return status;
    if (std::find(profiles.begin(), profiles.begin() + static_cast<std::ptrdiff_t>(i),
                  profiles[i]) != profiles.begin() + static_cast<std::ptrdiff_t>(i)) {
      return Error{fmt::format("{}: '{}' is listed twice", field, profiles[i])};
    }
  }
  return Status::Ok();
}

const SrtpSuite* FindSrtpSuite(std::string_view name) {
  for (const SrtpSuite& suite : kSrtpSuites) {
    if (suite.name == name) return &suite;
  }
  return nullptr;
}

Status ValidatePeer(const PeerInfo& peer, std::string_view field) {
  return CheckName(fmt::format("{}.identity", field), peer.identity);
}

Status Validate(const Joined& joined) {
  if (joined.session_start_unix_ms < 0) {
    return Error{
        fmt::format("joined.session_start_unix_ms: {} is negative", joined.session_start_unix_ms)};
  }
  if (Status status = CheckSocketAddress("joined.media.address", joined.media.address,
                                         /*nonzero_port=*/true);
      !status) {
    return status;
  }
  if (joined.srtp) {
    const SrtpSuite* suite = FindSrtpSuite(joined.srtp->suite);
    if (suite == nullptr) {
      return Error{fmt::format(
          "joined.srtp.suite: unknown suite {} (AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM)",
          Quote(joined.srtp->suite))};
    }
    if (joined.srtp->key.size() != suite->key_bytes) {
      return Error{fmt::format("joined.srtp.key_base64: {} bytes, {} needs {} (key + salt)",
                               joined.srtp->key.size(), suite->name, suite->key_bytes)};
    }
  }
  if (joined.peers.size() > kMaxPeers) {
    return Error{
        fmt::format("joined.peers: {} peers > the {} accepted", joined.peers.size(), kMaxPeers)};
  }
  for (size_t i = 0; i < joined.peers.size(); ++i) {
    const std::string field = fmt::format("joined.peers[{}]", i);
    if (Status status = ValidatePeer(joined.peers[i], field); !status) return status;
    const uint32_t id = joined.peers[i].participant_id;
    if (id == joined.participant_id) {
      return Error{fmt::format("{}.participant_id: {} is the client's own id", field, id)};
    }
    for (size_t k = 0; k < i; ++k) {
      if (joined.peers[k].participant_id == id) {
        return Error{
            fmt::format("{}.participant_id: {} is already used by peers[{}]", field, id, k)};
      }
    }
  }
  return Status::Ok();
}

Status Validate(const PeerJoined& message) { return ValidatePeer(message.peer, "peer_joined"); }

Status Validate(const ErrorMessage& message) {
  if (message.message.size() > kMaxErrorMessageBytes) {
    return Error{fmt::format("error.message: {} bytes > the {} accepted", message.message.size(),
                             kMaxErrorMessageBytes)};
  }
  if (!IsValidUtf8(message.message)) return Error{"error.message: not valid UTF-8"};
  return Status::Ok();
}

// ---- reading JSON ---------------------------------------------------------------------

// Refuses text nested deeper than kMaxJsonDepth before any parser sees it. Brackets inside
// strings do not count; unbalanced text is left for the parser to refuse.
Status CheckDepth(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) {
        return Error{fmt::format("nested deeper than {} levels at byte {}", kMaxJsonDepth, i)};
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return Status::Ok();
}

Result<Json> ParseJson(std::string_view text) {
  if (text.size() > kMaxMessageBytes) {
    return Error{
        fmt::format("message of {} bytes > the {} accepted", text.size(), kMaxMessageBytes)};
  }
  if (Status status = CheckDepth(text); !status) return status.error();
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    return Error{"not JSON: " + JsonErrorText(e.what())};
  }
}

// Reads fields of JSON objects into structs. The first error is kept and later reads
// return defaults, so a reader of a message checks for an error once, at the end.
class FieldReader {
 public:
  bool ok() const { return !error_.has_value(); }
  const Error& error() const { return *error_; }

  void Fail(std::string message) {
    if (!error_) error_ = Error{std::move(message)};
  }
  void Check(const Status& status) {
    if (!status) Fail(status.error().message);
  }

  // Fails when `object` has a key outside `known`.
  void OnlyKeys(const Json& object, std::string_view path,
                std::initializer_list<std::string_view> known) {
    if (!ok()) return;
    for (const auto& item : object.items()) {
      if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
        Fail(fmt::format("{}: unknown field {}", path, Quote(item.key())));
        return;
      }
    }
  }

  // The value of `key`, or null when absent (a failure if `required`) or after a failure.
  const Json* Find(const Json& object, std::string_view path, std::string_view key, bool required) {
    if (!ok()) return nullptr;
    const auto it = object.find(key);
    if (it == object.end()) {
      if (required) Fail(fmt::format("{}.{}: missing", path, key));
      return nullptr;
    }
    return &*it;
  }

  std::string String(const Json& object, std::string_view path, std::string_view key,
                     bool required) {
    const Json* value = Find(object, path, key, required);
    if (value == nullptr) return {};
    if (!value->is_string()) {
      Fail(fmt::format("{}.{}: expected a string", path, key));
      return {};
    }
    return value->get<std::string>();
  }

  // An integer in low..high (both within int64).
  int64_t Integer(const Json& object, std::string_view path, std::string_view key, int64_t low,
                  int64_t high, std::string_view expected) {
    const Json* value = Find(object, path, key, /*required=*/true);
    if (value == nullptr) return 0;
    if (!value->is_number_integer() ||
        (value->is_number_unsigned() &&
         value->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))) {
      Fail(fmt::format("{}.{}: expected {}", path, key, expected));
      return 0;
    }
    const int64_t number = value->get<int64_t>();
    if (number < low || number > high) {
      Fail(fmt::format("{}.{}: expected {} (got {})", path, key, expected, number));
      return 0;
    }
    return number;
  }

  uint32_t Uint32(const Json& object, std::string_view path, std::string_view key) {
    return static_cast<uint32_t>(Integer(object, path, key, 0, std::numeric_limits<uint32_t>::max(),
                                         "an unsigned 32-bit integer"));
  }

  const Json* Object(const Json& object, std::string_view path, std::string_view key,
                     bool required) {
    const Json* value = Find(object, path, key, required);
    if (value != nullptr && !value->is_object()) {
      Fail(fmt::format("{}.{}: expected an object", path, key));
      return nullptr;
    }
    return value;
  }

  // An array of at most `max_items` (a larger one is refused before its items are read).
  const Json* Array(const Json& object, std::string_view path, std::string_view key, bool required,
                    size_t max_items) {
    const Json* value = Find(object, path, key, required);
    if (value == nullptr) return nullptr;
    if (!value->is_array()) {
      Fail(fmt::format("{}.{}: expected an array", path, key));
      return nullptr;
    }
    if (value->size() > max_items) {
      Fail(fmt::format("{}.{}: {} items > the {} accepted", path, key, value->size(), max_items));
      return nullptr;
    }
    return value;
  }

  // `value` as an object (an array item), failing with `path` otherwise.
  bool IsObject(const Json& value, std::string_view path) {
    if (!ok()) return false;
    if (!value.is_object()) {
      Fail(fmt::format("{}: expected an object", path));
      return false;
    }
    return true;
  }

 private:
  std::optional<Error> error_;
};

CodecCapability ReadCodec(FieldReader& reader, const Json& json, const std::string& path) {
  CodecCapability codec;
  if (!reader.IsObject(json, path)) return codec;
  reader.OnlyKeys(json, path, {"name", "clock_rate", "channels", "payload_type"});
  codec.name = reader.String(json, path, "name", true);
  codec.clock_rate_hz = static_cast<uint32_t>(
      reader.Integer(json, path, "clock_rate", 1, kMaxClockRateHz, "an integer 1..1000000 (Hz)"));
  codec.channels =
      static_cast<int>(reader.Integer(json, path, "channels", 1, kMaxChannels, "an integer 1..8"));
  codec.payload_type = static_cast<int>(
      reader.Integer(json, path, "payload_type", 0, kMaxPayloadType, "an integer 0..127"));
  return codec;
}

Join ReadJoin(FieldReader& reader, const Json& json) {
  Join join;
  reader.OnlyKeys(json, "join", {"v", "type", "room", "token", "identity", "ssrc", "capabilities"});
  join.room = reader.String(json, "join", "room", true);
  join.token = reader.String(json, "join", "token", false);
  join.identity = reader.String(json, "join", "identity", false);
  // Absent and "" would both read as no identity; only absence is allowed.
  if (reader.ok() && join.identity.empty() && json.contains("identity")) {
    reader.Check(CheckName("join.identity", join.identity));
  }
  join.ssrc = reader.Uint32(json, "join", "ssrc");
  const Json* capabilities = reader.Object(json, "join", "capabilities", true);
  if (capabilities == nullptr) return join;
  const std::string_view path = "join.capabilities";
  reader.OnlyKeys(*capabilities, path, {"codecs", "profiles"});
  if (const Json* codecs = reader.Array(*capabilities, path, "codecs", true, kMaxCodecs)) {
    for (size_t i = 0; i < codecs->size() && reader.ok(); ++i) {
      join.capabilities.codecs.push_back(
          ReadCodec(reader, (*codecs)[i], fmt::format("{}.codecs[{}]", path, i)));
    }
  }
  if (const Json* profiles = reader.Array(*capabilities, path, "profiles", false, kMaxProfiles)) {
    for (size_t i = 0; i < profiles->size() && reader.ok(); ++i) {
      if (!(*profiles)[i].is_string()) {
        reader.Fail(fmt::format("{}.profiles[{}]: expected a string", path, i));
        break;
      }
      join.capabilities.profiles.push_back((*profiles)[i].get<std::string>());
    }
  }
  if (reader.ok()) reader.Check(Validate(join));
  return join;
}

PeerInfo ReadPeer(FieldReader& reader, const Json& json, std::string_view path,
                  std::initializer_list<std::string_view> known) {
  PeerInfo peer;
  if (!reader.IsObject(json, path)) return peer;
  reader.OnlyKeys(json, path, known);
  peer.participant_id = reader.Uint32(json, path, "participant_id");
  peer.identity = reader.String(json, path, "identity", true);
  peer.ssrc = reader.Uint32(json, path, "ssrc");
  return peer;
}

Joined ReadJoined(FieldReader& reader, const Json& json) {
  Joined joined;
  reader.OnlyKeys(
      json, "joined",
      {"v", "type", "participant_id", "session_start_unix_ms", "media", "srtp", "peers"});
  joined.participant_id = reader.Uint32(json, "joined", "participant_id");
  joined.session_start_unix_ms =
      reader.Integer(json, "joined", "session_start_unix_ms", 0,
                     std::numeric_limits<int64_t>::max(), "a non-negative integer (Unix ms)");
  if (const Json* media = reader.Object(json, "joined", "media", true)) {
    reader.OnlyKeys(*media, "joined.media", {"address", "hello_secret"});
    joined.media.address = reader.String(*media, "joined.media", "address", true);
    const std::string secret = reader.String(*media, "joined.media", "hello_secret", true);
    if (reader.ok()) {
      Result<std::vector<uint8_t>> bytes = HexDecode(secret);
      if (!bytes || bytes->size() != kHelloSecretBytes) {
        reader.Fail(fmt::format("joined.media.hello_secret: expected {} hex digits",
                                2 * kHelloSecretBytes));
      } else {
        std::copy(bytes->begin(), bytes->end(), joined.media.hello_secret.begin());
      }
    }
  }
  if (const Json* srtp = reader.Object(json, "joined", "srtp", false)) {
    reader.OnlyKeys(*srtp, "joined.srtp", {"suite", "key_base64"});
    SrtpInfo info;
    info.suite = reader.String(*srtp, "joined.srtp", "suite", true);
    const std::string key = reader.String(*srtp, "joined.srtp", "key_base64", true);
    if (reader.ok()) {
      Result<std::vector<uint8_t>> bytes = Base64Decode(key);
      if (!bytes) {
        reader.Fail(fmt::format("joined.srtp.key_base64: not base64 ({})", bytes.error().message));
      } else {
        info.key = std::move(bytes).value();
      }
    }
    joined.srtp = std::move(info);
  }
  if (const Json* peers = reader.Array(json, "joined", "peers", true, kMaxPeers)) {
    for (size_t i = 0; i < peers->size() && reader.ok(); ++i) {
      joined.peers.push_back(ReadPeer(reader, (*peers)[i], fmt::format("joined.peers[{}]", i),
                                      {"participant_id", "identity", "ssrc"}));
    }
  }
  if (reader.ok()) reader.Check(Validate(joined));
  return joined;
}

ErrorMessage ReadError(FieldReader& reader, const Json& json) {
  ErrorMessage message;
  reader.OnlyKeys(json, "error", {"v", "type", "code", "message"});
  const std::string code = reader.String(json, "error", "code", true);
  message.message = reader.String(json, "error", "message", true);
  if (!reader.ok()) return message;
  const std::optional<ErrorCode> parsed = ErrorCodeFromName(code);
  if (!parsed) {
    reader.Fail(fmt::format("error.code: unknown code {}", Quote(code)));
    return message;
  }
  message.code = *parsed;
  reader.Check(Validate(message));
  return message;
}

// The checks every message shares: size, depth, JSON, an object, "v" and "type". Returns
// the parsed object and its type.
struct Envelope {
  Json json;
  std::string type;
};

Result<Envelope> ReadEnvelope(std::string_view text, ErrorCode* error_code) {
  if (error_code != nullptr) *error_code = ErrorCode::kBadMessage;
  Result<Json> json = ParseJson(text);
  if (!json) return json.error();
  if (!json->is_object()) return Error{"expected a JSON object"};
  const auto version = json->find("v");
  if (version == json->end()) return Error{"v: missing"};
  if (!version->is_number_integer()) return Error{"v: expected an integer"};
  if (version->is_number_unsigned() ? version->get<uint64_t>() != kSignalingVersion
                                    : version->get<int64_t>() != kSignalingVersion) {
    if (error_code != nullptr) *error_code = ErrorCode::kUnsupportedVersion;
    return Error{fmt::format("v: protocol version {} is not supported (this side speaks {})",
                             version->dump(), kSignalingVersion)};
  }
  const auto type = json->find("type");
  if (type == json->end()) return Error{"type: missing"};
  if (!type->is_string()) return Error{"type: expected a string"};
  Envelope envelope;
  envelope.type = type->get<std::string>();
  envelope.json = std::move(json).value();
  return envelope;
}

Error UnsupportedType(std::string_view type, std::string_view direction_note,
                      ErrorCode* error_code) {
  if (error_code != nullptr) *error_code = ErrorCode::kUnsupportedType;
  std::string message = fmt::format("unsupported message type {}", Quote(type));
  if (Contains(kReservedTypes, type)) {
    message += " (reserved for the quality messages; not in protocol version 1)";
  } else if (!direction_note.empty()) {
    message += direction_note;
  }
  return Error{std::move(message)};
}

// ---- writing --------------------------------------------------------------------------

OrderedJson Header(std::string_view type) {
  OrderedJson json;
  json["v"] = kSignalingVersion;
  json["type"] = type;
  return json;
}

OrderedJson PeerJson(const PeerInfo& peer) {
  OrderedJson json;
  json["participant_id"] = peer.participant_id;
  json["identity"] = peer.identity;
  json["ssrc"] = peer.ssrc;
  return json;
}

void ThrowIfInvalid(const Status& status) {
  if (!status) throw std::invalid_argument("Serialize: " + status.error().message);
}

}  // namespace

std::span<const std::string_view> ReservedMessageTypes() { return kReservedTypes; }

std::string_view ErrorCodeName(ErrorCode code) {
  for (const auto& [known, name] : kErrorCodeNames) {
    if (known == code) return name;
  }
  return "internal";
}

std::optional<ErrorCode> ErrorCodeFromName(std::string_view name) {
  for (const auto& [code, known] : kErrorCodeNames) {
    if (known == name) return code;
  }
  return std::nullopt;
}

ErrorCode ErrorCodeFor(TokenError error) {
  return error == TokenError::kExpired ? ErrorCode::kTokenExpired : ErrorCode::kUnauthorized;
}

Result<ClientMessage> ParseClientMessage(std::string_view text, ErrorCode* error_code) {
  Result<Envelope> envelope = ReadEnvelope(text, error_code);
  if (!envelope) return envelope.error();
  const Json& json = envelope->json;
  FieldReader reader;
  ClientMessage message;
  if (envelope->type == "join") {
    message = ReadJoin(reader, json);
  } else if (envelope->type == "leave") {
    reader.OnlyKeys(json, "leave", {"v", "type"});
    message = Leave{};
  } else {
    return UnsupportedType(
        envelope->type, Contains(kRelayTypes, envelope->type) ? " (a relay-to-client message)" : "",
        error_code);
  }
  if (!reader.ok()) return reader.error();
  return message;
}

Result<RelayMessage> ParseRelayMessage(std::string_view text, ErrorCode* error_code) {
  Result<Envelope> envelope = ReadEnvelope(text, error_code);
  if (!envelope) return envelope.error();
  const Json& json = envelope->json;
  const std::string& type = envelope->type;
  FieldReader reader;
  RelayMessage message;
  if (type == "joined") {
    message = ReadJoined(reader, json);
  } else if (type == "peer_joined") {
    PeerJoined joined{
        ReadPeer(reader, json, "peer_joined", {"v", "type", "participant_id", "identity", "ssrc"})};
    if (reader.ok()) reader.Check(Validate(joined));
    message = std::move(joined);
  } else if (type == "peer_left") {
    reader.OnlyKeys(json, "peer_left", {"v", "type", "participant_id"});
    message = PeerLeft{reader.Uint32(json, "peer_left", "participant_id")};
  } else if (type == "error") {
    message = ReadError(reader, json);
  } else {
    return UnsupportedType(type, Contains(kClientTypes, type) ? " (a client-to-relay message)" : "",
                           error_code);
  }
  if (!reader.ok()) return reader.error();
  return message;
}

std::string Serialize(const Join& message) {
  ThrowIfInvalid(Validate(message));
  OrderedJson json = Header("join");
  json["room"] = message.room;
  json["token"] = message.token;
  if (!message.identity.empty()) json["identity"] = message.identity;
  json["ssrc"] = message.ssrc;
  OrderedJson codecs = OrderedJson::array();
  for (const CodecCapability& codec : message.capabilities.codecs) {
    OrderedJson entry;
    entry["name"] = codec.name;
    entry["clock_rate"] = codec.clock_rate_hz;
    entry["channels"] = codec.channels;
    entry["payload_type"] = codec.payload_type;
    codecs.push_back(std::move(entry));
  }
  json["capabilities"]["codecs"] = std::move(codecs);
  json["capabilities"]["profiles"] = message.capabilities.profiles;
  return json.dump();
}

std::string Serialize(const Leave& /*message*/) { return Header("leave").dump(); }

std::string Serialize(const Joined& message) {
  ThrowIfInvalid(Validate(message));
  OrderedJson json = Header("joined");
  json["participant_id"] = message.participant_id;
  json["session_start_unix_ms"] = message.session_start_unix_ms;
  json["media"]["address"] = message.media.address;
  json["media"]["hello_secret"] = HexEncode(message.media.hello_secret);
  if (message.srtp) {
    json["srtp"]["suite"] = message.srtp->suite;
    json["srtp"]["key_base64"] = Base64Encode(message.srtp->key);
  }
  json["peers"] = OrderedJson::array();
  for (const PeerInfo& peer : message.peers) json["peers"].push_back(PeerJson(peer));
  return json.dump();
}

std::string Serialize(const PeerJoined& message) {
  ThrowIfInvalid(Validate(message));
  OrderedJson json = Header("peer_joined");
  json.update(PeerJson(message.peer));
  return json.dump();
}

std::string Serialize(const PeerLeft& message) {
  OrderedJson json = Header("peer_left");
  json["participant_id"] = message.participant_id;
  return json.dump();
}

std::string Serialize(const ErrorMessage& message) {
  ThrowIfInvalid(Validate(message));
  OrderedJson json = Header("error");
  json["code"] = ErrorCodeName(message.code);
  json["message"] = message.message;
  return json.dump();
}

std::string Serialize(const ClientMessage& message) {
  return std::visit([](const auto& m) { return Serialize(m); }, message);
}

std::string Serialize(const RelayMessage& message) {
  return std::visit([](const auto& m) { return Serialize(m); }, message);
}

std::array<uint8_t, kHelloSecretBytes> NewHelloSecret() {
  std::array<uint8_t, kHelloSecretBytes> secret{};
  if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed: OpenSSL's random generator is not seeded");
  }
  return secret;
}

}  // namespace parley::session
