// The relay's configuration file (`parley relay --config relay.json`), also read by
// `parley token` for the secret. A JSON object; // and /* */ comments are allowed. Every
// key is optional except token_secret; a key that is not listed here is an error (a typo
// must not silently leave a default in force). Example:
//
//   {
//     "token_secret": "output of: openssl rand -base64 48",
//     "listen_signaling": "0.0.0.0:8443",
//     "listen_media": "0.0.0.0:40000",
//     "public_media_address": "203.0.113.7:40000",
//     "max_participants_per_room": 8,
//     "recording_dir": "/var/lib/parley/recordings"
//   }
//
// Errors name the key and the rule ("relay.json: max_rooms: expected an integer
// 1..100000 (got 0)"), or the line and column of a JSON syntax error.
// Pure functions except LoadRelayConfig (reads one file); thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "parley/base/result.h"

namespace parley::session {

struct RelayConfig {
  // Where the signaling WebSocket listens (TCP), a numeric "ip:port" (validation.h); port 0
  // takes any free port. The default serves every interface on 8443, the usual port of a
  // TLS service beside 443.
  std::string listen_signaling = "0.0.0.0:8443";
  // The one UDP socket all media (RTP/RTCP, hellos) arrives on and leaves from.
  std::string listen_media = "0.0.0.0:40000";
  // The media address given to clients in `joined` (signaling.h), for a relay behind NAT
  // or listening on a wildcard address. "" (the default): listen_media when it names one
  // interface, otherwise the local address that the client's signaling connection reached.
  // When set: numeric, not a wildcard, port != 0.
  std::string public_media_address;
  // The HMAC key of join tokens (token.h), used as the bytes written here: at least
  // kMinSecretBytes (32) bytes. Required; no default, so no two relays share one by
  // accident.
  std::string token_secret;
  // Rooms open at once; a join that would open one more is refused (relay_full).
  // 1..100000. 100.
  int max_rooms = 100;
  // Participants in one room; a join beyond is refused (room_full).
  // 1..kMaxRoomParticipants (100, signaling.h: the peer list of `joined` must fit one
  // message). 16: the forwarding cost grows with the square of a room's size.
  int max_participants_per_room = 16;
  // Folder of room recordings (Ogg Opus, per participant and mixed); "" (the default):
  // no recording.
  std::string recording_dir;
  // Where Prometheus metrics and the health check are served over HTTP; "" turns them
  // off. Loopback by default: metrics are not for the internet. 9464 is the default port
  // of OpenTelemetry's Prometheus exporter, so it rarely collides with other exporters.
  std::string metrics_listen = "127.0.0.1:9464";
  // PEM certificate chain and private key of the signaling WebSocket (wss://). Both or
  // neither; "" (the default): plain ws://, for a relay behind a TLS-terminating proxy.
  std::string tls_cert;
  std::string tls_key;
  // SRTP on the media plane: keys are handed out in `joined`. Off by default.
  bool srtp = false;
  // "AES_CM_128_HMAC_SHA1_80" (the default: what every SRTP stack speaks) or
  // "AEAD_AES_128_GCM".
  std::string srtp_suite = "AES_CM_128_HMAC_SHA1_80";
};

// The configuration in `json`, defaults filled in. Error names the key at fault.
[[nodiscard]] Result<RelayConfig> ParseRelayConfig(std::string_view json);

// ParseRelayConfig on the file at `path` (at most 1 MiB); Error messages begin with the
// path: "relay.json: token_secret: missing".
[[nodiscard]] Result<RelayConfig> LoadRelayConfig(const std::string& path);

}  // namespace parley::session
