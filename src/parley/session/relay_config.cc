#include "parley/session/relay_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "parley/session/signaling.h"
#include "parley/session/token.h"
#include "parley/session/validation.h"

namespace parley::session {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxConfigBytes = 1 << 20;
constexpr int kMaxRooms = 100'000;

constexpr std::array<std::string_view, 12> kKeys{
    "listen_signaling", "listen_media",   "public_media_address",
    "token_secret",     "max_rooms",      "max_participants_per_room",
    "recording_dir",    "metrics_listen", "tls_cert",
    "tls_key",          "srtp",           "srtp_suite"};

bool IsWildcard(std::string_view address) {
  return address.starts_with("0.0.0.0:") || address.starts_with("[::]:");
}

Status ReadString(const Json& json, std::string_view key, std::string* out) {
  const auto it = json.find(key);
  if (it == json.end()) return Status::Ok();
  if (!it->is_string()) return Error{fmt::format("{}: expected a string", key)};
  *out = it->get<std::string>();
  return Status::Ok();
}

Status ReadInt(const Json& json, std::string_view key, int low, int high, int* out) {
  const auto it = json.find(key);
  if (it == json.end()) return Status::Ok();
  std::optional<int64_t> value;
  if (it->is_number_unsigned()) {
    if (it->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      value = it->get<int64_t>();
    }
  } else if (it->is_number_integer()) {
    value = it->get<int64_t>();
  }
  if (!value || *value < low || *value > high) {
    return Error{
        fmt::format("{}: expected an integer {}..{} (got {})", key, low, high, Quote(it->dump()))};
  }
  *out = static_cast<int>(*value);
  return Status::Ok();
}

Status ReadBool(const Json& json, std::string_view key, bool* out) {
  const auto it = json.find(key);
  if (it == json.end()) return Status::Ok();
  if (!it->is_boolean()) return Error{fmt::format("{}: expected true or false", key)};
  *out = it->get<bool>();
  return Status::Ok();
}

Status CheckOptionalAddress(std::string_view key, const std::string& address) {
  if (address.empty()) return Status::Ok();
  return CheckSocketAddress(key, address, /*nonzero_port=*/false);
}

Status Validate(const RelayConfig& config) {
  for (auto [key, address] : {std::pair{"listen_signaling", &config.listen_signaling},
                              std::pair{"listen_media", &config.listen_media}}) {
    if (Status status = CheckSocketAddress(key, *address, /*nonzero_port=*/false); !status) {
      return status;
    }
  }
  if (!config.public_media_address.empty()) {
    if (Status status = CheckSocketAddress("public_media_address", config.public_media_address,
                                           /*nonzero_port=*/true);
        !status) {
      return status;
    }
    if (IsWildcard(config.public_media_address)) {
      return Error{
          fmt::format("public_media_address: {} is a wildcard, not an address "
                      "clients can reach",
                      config.public_media_address)};
    }
  }
  if (config.token_secret.size() < kMinSecretBytes) {
    return Error{fmt::format(
        "token_secret: {} bytes < the {} required (make one with: openssl rand -base64 48)",
        config.token_secret.size(), kMinSecretBytes)};
  }
  if (Status status = CheckOptionalAddress("metrics_listen", config.metrics_listen); !status) {
    return status;
  }
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    return Error{config.tls_cert.empty()
                     ? "tls_cert: missing (tls_key is set; give both or neither)"
                     : "tls_key: missing (tls_cert is set; give both or neither)"};
  }
  if (config.srtp_suite != "AES_CM_128_HMAC_SHA1_80" && config.srtp_suite != "AEAD_AES_128_GCM") {
    return Error{
        fmt::format("srtp_suite: unknown suite {} (AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM)",
                    Quote(config.srtp_suite))};
  }
  return Status::Ok();
}

}  // namespace

Result<RelayConfig> ParseRelayConfig(std::string_view text) {
  Json json;
  try {
    json = Json::parse(text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const Json::exception& e) {
    return Error{"not JSON: " + JsonErrorText(e.what())};
  }
  if (!json.is_object()) return Error{"expected a JSON object of settings"};
  for (const auto& item : json.items()) {
    if (std::find(kKeys.begin(), kKeys.end(), item.key()) == kKeys.end()) {
      return Error{
          fmt::format("unknown key {} (known: {})", Quote(item.key()), fmt::join(kKeys, ", "))};
    }
  }
  if (!json.contains("token_secret")) {
    return Error{"token_secret: missing (make one with: openssl rand -base64 48)"};
  }
  RelayConfig config;
  for (const Status& status : {
           ReadString(json, "listen_signaling", &config.listen_signaling),
           ReadString(json, "listen_media", &config.listen_media),
           ReadString(json, "public_media_address", &config.public_media_address),
           ReadString(json, "token_secret", &config.token_secret),
           ReadInt(json, "max_rooms", 1, kMaxRooms, &config.max_rooms),
           ReadInt(json, "max_participants_per_room", 1, static_cast<int>(kMaxRoomParticipants),
                   &config.max_participants_per_room),
           ReadString(json, "recording_dir", &config.recording_dir),
           ReadString(json, "metrics_listen", &config.metrics_listen),
           ReadString(json, "tls_cert", &config.tls_cert),
           ReadString(json, "tls_key", &config.tls_key),
           ReadBool(json, "srtp", &config.srtp),
           ReadString(json, "srtp_suite", &config.srtp_suite),
       }) {
    if (!status) return status.error();
  }
  if (Status status = Validate(config); !status) return status.error();
  return config;
}

Result<RelayConfig> LoadRelayConfig(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Error{fmt::format("{}: cannot read ({})", path, std::strerror(errno))};
  std::string text(kMaxConfigBytes + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (file.bad()) return Error{fmt::format("{}: cannot read ({})", path, std::strerror(errno))};
  text.resize(static_cast<size_t>(file.gcount()));
  if (text.size() > kMaxConfigBytes) {
    return Error{fmt::format("{}: larger than {} bytes", path, kMaxConfigBytes)};
  }
  Result<RelayConfig> config = ParseRelayConfig(text);
  if (!config) return Error{fmt::format("{}: {}", path, config.error().message)};
  return config;
}

}  // namespace parley::session
