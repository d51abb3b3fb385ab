// The client's end of the relay's signaling (docs/protocol.md "Signaling"): a WebSocket
// (ws:// or wss://) over which it sends `join` and `leave` and hears `joined`,
// `peer_joined`, `peer_left` and `error`, and which it re-establishes when the relay goes
// away.
//
//   Join(join) ── connect (TCP, TLS, WebSocket) ── join ──> joined: Ok, events follow
//        │                                           └───> error:  Error (code, message)
//        └─ first attempt fails (refused, timeout): Error; the client stops
//
//   joined ... connection lost ─> OnDisconnected(reason, retry_in) ─ wait ─> connect, the
//   same join again ─> OnJoined(rejoined = true) ... (or, refused for good: OnFailed)
//
// Reconnection: after a join has succeeded once, a lost connection (relay restarted,
// network gone, idle timeout: the client pings and gives up after idle_timeout of
// silence) is retried with exponential back-off and jitter (backoff.h: 250 ms doubling to
// 8 s), resending the same join: a relay that restarted knows nothing of the call, so
// the client joins anew and gets a new participant id, media address and hello secret.
// A refusal that retrying could cure (internal, relay_full, room_full, ssrc_in_use: the
// old participant may linger until the relay notices the old connection is gone) is
// retried with back-off too; any other refusal (unauthorized, token_expired, forbidden,
// ...) ends the client with OnFailed. The first attempt is not retried: a wrong URL or
// token should fail at once.
//
// Messages: what the relay sends is parsed strictly (session/signaling.h). Types this
// version reserves for later (quality_directive, ...) are counted and ignored, as is
// anything malformed; the connection stays up.
//
// TLS (wss://): the relay's certificate is verified against the system's trusted CAs (or
// ca_file) and the URL's host name, with SNI; verify_peer = false is for tests with a
// self-signed certificate only.
//
// Threading: the client runs its own thread (an Asio io_context). Listener calls come
// from that thread, one at a time; they must not block and must not call Leave(). Join(),
// Leave() and the destructor are for one controlling thread; counters() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "parley/base/result.h"
#include "parley/client/backoff.h"
#include "parley/session/signaling.h"

namespace parley::client {

// A ws:// or wss:// URL, split.
struct WebSocketUrl {
  bool tls = false;
  std::string host;    // name, IPv4, or IPv6 without brackets
  uint16_t port = 0;   // default 80 (ws) or 443 (wss)
  std::string target;  // path and query, "/" when absent
  // "host:port" for the Host header, IPv6 in brackets.
  std::string HostHeader() const;
};

// Parses "ws://host[:port][/path]" and "wss://...". Error naming what is wrong: another
// scheme, an empty host, a bad port, user info (not supported), a fragment.
[[nodiscard]] Result<WebSocketUrl> ParseWebSocketUrl(std::string_view url);

// Events from the relay, on the client's thread.
class SignalingListener {
 public:
  virtual ~SignalingListener() = default;
  // The relay accepted the join: the first time (rejoined false, before Join() returns)
  // and after every reconnection (rejoined true: a new participant id, media address and
  // hello secret; the peers listed are those in the room now).
  virtual void OnJoined(const session::Joined& joined, bool rejoined) = 0;
  virtual void OnPeerJoined(const session::PeerInfo& peer) = 0;
  virtual void OnPeerLeft(uint32_t participant_id) = 0;
  // The relay sent an error while joined (the connection stays up).
  virtual void OnRelayError(const session::ErrorMessage& /*error*/) {}
  // The connection was lost; the next attempt is in `retry_in`.
  virtual void OnDisconnected(const std::string& /*reason*/,
                              std::chrono::milliseconds /*retry_in*/) {}
  // The client gave up (a refusal retrying cannot cure, or reconnect off); no more events.
  virtual void OnFailed(const Error& error) = 0;
};

struct SignalingClientConfig {
  std::string url;  // ws://host:port/path or wss://...
  // TCP connect, TLS and WebSocket handshakes of one attempt, together. > 0.
  std::chrono::milliseconds connect_timeout{5000};
  // From `join` sent to `joined` or `error` received. > 0.
  std::chrono::milliseconds join_timeout{5000};
  // Once joined: with no message or pong from the relay for this long (the client pings
  // halfway through), the connection is taken as dead. 20 s. > 0.
  std::chrono::milliseconds idle_timeout{20000};
  // How long Leave() waits for `leave` to be sent and the close handshake to finish. > 0.
  std::chrono::milliseconds leave_timeout{2000};
  bool reconnect = true;  // after the first join: retry lost connections
  BackoffConfig backoff;
  // wss://: CA bundle (PEM) to trust instead of the system's; and whether to verify.
  std::string ca_file;
  bool verify_peer = true;
};

struct SignalingCounters {
  uint64_t connects = 0;      // WebSocket sessions established
  uint64_t joins = 0;         // `joined` received (the first and every rejoin)
  uint64_t disconnects = 0;   // sessions lost after being established
  uint64_t refusals = 0;      // `error` in answer to a join
  uint64_t relay_errors = 0;  // `error` while joined
  uint64_t ignored = 0;       // messages of reserved types, or malformed
};

class SignalingClient {
 public:
  using Config = SignalingClientConfig;

  // `listener` must outlive the client. Throws std::invalid_argument for a Config
  // outside its documented ranges (the URL is checked by Join()).
  SignalingClient(Config config, SignalingListener& listener);
  ~SignalingClient();  // Leave()s
  SignalingClient(const SignalingClient&) = delete;
  SignalingClient& operator=(const SignalingClient&) = delete;

  // Connects and joins with `join`; blocks until `joined` (returned; the listener has had
  // OnJoined first), a refusal (Error with the relay's code and message), or a failure
  // to connect or a timeout (Error naming the step). After an Error the client is
  // stopped. Throws std::logic_error when called twice.
  [[nodiscard]] Result<session::Joined> Join(const session::Join& join);

  // Sends `leave`, closes the WebSocket and stops the thread (waiting at most
  // leave_timeout for the relay). No listener calls after it returns. Idempotent.
  void Leave();

  SignalingCounters counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::client
