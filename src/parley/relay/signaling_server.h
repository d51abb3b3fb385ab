// The relay's signaling server: WebSocket connections (ws://, or wss:// when the
// configuration names a certificate) carrying the JSON messages of session/signaling.h,
// which admit participants to rooms and open their media paths in the MediaRouter.
//
// Per connection, one text frame is one message (at most kMaxMessageBytes):
//
//   join   token checked (session::VerifyToken, for the join's room, now) -> identity
//          checked against the token -> limits (max_rooms, max_participants_per_room, the
//          SSRC free in the room) -> a relay-unique participant id and a fresh 16-byte
//          hello secret -> MediaRouter::AddParticipant -> `joined` to the client (media
//          address, the secret, the others in the room, the room's SRTP key when srtp is
//          on) -> `peer_joined` to the others.
//   leave  the participant (if any) is removed from the router, `peer_left` goes to the
//          others, and the relay closes the WebSocket (close code 1000).
//   closed connection (any reason): as leave, without the close.
//
// Refusals answer with an `error` message (code from session::ErrorCodeFor for tokens)
// and open no media path (no AddParticipant). Which ones close the connection:
//   unauthorized, token_expired, forbidden    error, then close (1008 policy violation)
//   bad_message, unsupported_version,         error; the connection stays open (a join may
//   unsupported_type, already_joined,         follow, or the call goes on)
//   room_full, relay_full, ssrc_in_use,
//   internal
//   a frame above kMaxMessageBytes            close (1009 message too big), no error message
//   a binary frame                            bad_message; stays open
// Rooms are created on their first join (session_start_unix_ms = that moment) and removed
// with their last participant.
//
// SRTP (config.srtp): each room gets a random master key and salt of the configured suite
// when it is created, handed to every participant in `joined` and to the router
// (AddParticipant). The relay forwards SRTP unchanged without decrypting it; it reads
// the participants' SRTCP and protects its own reports with the room's key
// (media_router.h, "SRTP rooms"). The SSRCs of a room are distinct, which RFC 3711
// requires of senders sharing a master key, and none is the relay's own RTCP SSRC
// (refused with ssrc_in_use).
//
// Threading: the server runs one thread (an Asio io_context) of its own; every piece of
// signaling state lives there, and that thread is the router's control side (no other
// thread may call the router's control API while the server runs). stats() may be called
// from any other thread, but not while Stop() runs.
//
// The messages' handling (joins, leaves, rooms, refusals, counters) is SignalingRooms
// (signaling_rooms.h); this server carries its frames over WebSocket.
//
// Shutdown: Stop() stops accepting, sends every open WebSocket a close frame (1001 going
// away), removes their participants, and returns when all have closed or
// Options::shutdown_timeout has passed.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "parley/base/clock.h"
#include "parley/base/log.h"
#include "parley/base/result.h"
#include "parley/net/udp_socket.h"
#include "parley/relay/media_router.h"
#include "parley/relay/signaling_rooms.h"
#include "parley/session/relay_config.h"
#include "parley/session/signaling.h"
#include "parley/session/token.h"

namespace parley::relay {

struct SignalingServerOptions {
  // From TCP accept to an open WebSocket (the TLS handshake included), and for the close
  // handshake: a client that takes longer is disconnected. 10 s: several round trips
  // over a slow mobile link, while a connection that never speaks is not kept for long.
  std::chrono::milliseconds handshake_timeout{10'000};
  // An open WebSocket silent for half of this is pinged; silent for all of it (no pong
  // either), it is closed and its participant removed, so a vanished client does not
  // hold its room seat. 30 s. > 0.
  std::chrono::milliseconds idle_timeout{30'000};
  // How long Stop() waits for the clients to answer the close frames. 2 s.
  std::chrono::milliseconds shutdown_timeout{2'000};
  // Connections open at once; beyond, a new one is closed at once. 10,000 (each costs a
  // file descriptor and some 100 KB with TLS). > 0.
  size_t max_connections = 10'000;
  // Messages queued for a client that does not read them; beyond, it is disconnected
  // rather than the relay holding memory for it. 256: far above what a room's peer
  // notifications can pile up while a client is merely slow. > 0.
  size_t max_queued_messages = 256;
  // Refused messages logged per connection (all are counted): a client sending garbage
  // in a loop must not flood the log. 3.
  size_t max_logged_refusals = 3;
  // Told of joins and leaves (nullptr: nobody); passed by argument, must outlive the server.
  ParticipantListener* participant_listener = nullptr;
};

class SignalingServer {
 public:
  using Options = SignalingServerOptions;

  // Participants the relay holds at most, whatever max_rooms x max_participants_per_room
  // allows: it sizes the router's tables (a few hundred bytes each). A join beyond is
  // refused as relay_full.
  static constexpr size_t kMaxRelayParticipants = SignalingRooms::kMaxRelayParticipants;

  // Binds config.listen_signaling (port 0: any free port; see local_address()), loads
  // config.tls_cert/tls_key when set, and starts the server's thread. `media_address` is
  // the media socket's local address (MediaLoop::local_address), given to clients when
  // config.public_media_address is empty and it is not a wildcard. `router`, `logger`
  // and `clock` are passed by argument and must outlive the server. Error: an address
  // that does not parse or cannot be bound, a certificate or key that cannot be loaded,
  // a token secret shorter than session::kMinSecretBytes, a limit out of its range
  // (relay_config.h). Throws std::invalid_argument for Options out of range.
  [[nodiscard]] static Result<std::unique_ptr<SignalingServer>> Start(
      const session::RelayConfig& config, const net::SocketAddress& media_address,
      MediaRouter& router, Logger& logger, const Options& options = {},
      const Clock& clock = SystemClock::Instance());
  ~SignalingServer();  // Stop()
  SignalingServer(const SignalingServer&) = delete;
  SignalingServer& operator=(const SignalingServer&) = delete;

  // The TCP address listened on, with the port the system picked.
  const net::SocketAddress& local_address() const;
  // True when serving wss://.
  bool tls() const;

  // Graceful shutdown (see above); idempotent. Returns when the server's thread has ended.
  void Stop();

  // The counters and state at one instant: read on the server's thread, waiting for it
  // at most one second (Error if it did not answer). After Stop, read directly.
  [[nodiscard]] Result<SignalingStats> stats() const;

 private:
  struct Impl;
  explicit SignalingServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::relay
