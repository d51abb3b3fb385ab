// `parley relay` as a library object: the configuration (session/relay_config.h) brought to
// life as three threads around one MediaRouter.
//
//   media thread      MediaLoop::Run: the UDP socket, hellos, forwarding (media_loop.h)
//   signaling thread  SignalingServer: WebSockets, tokens, rooms; the router's control side
//   metrics thread    HttpEndpoint: GET /metrics (Prometheus) and GET /healthz, when
//                     config.metrics_listen is set
//   recording thread  RoomRecorder (recording.h), when config.recording_dir is set: the
//                     router's RtpTap and the signaling server's ParticipantListener
//
// /metrics answers FormatPrometheus (metrics.h) with text/plain; version=0.0.4. /healthz
// answers 200 with FormatHealth's JSON while the media thread runs, 503 with
// {"status":"media_failed",...} after it stopped on a socket error. Any other path: 404.
//
// The media loop outlives transient socket errors (media_loop.h): each kind is logged
// (media_socket_error, warn) at most once per error_report_interval with the count of
// those not logged. A fatal one (the socket closed) ends the media thread: it logs
// media_loop_failed (error), media_failure() says why, and the owner (parley relay)
// should stop the relay and exit non-zero for a supervisor to restart it.
//
// The router is sized from the configuration: max_rooms x max_participants_per_room
// participants, at most SignalingServer::kMaxRelayParticipants.
//
// Threading: Start, Stop and the address accessors from one controlling thread (the
// command's main thread, a test); media_failure() from any thread; stats() from any
// thread but not while Stop() runs (the metrics endpoint is stopped first for that).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "parley/base/clock.h"
#include "parley/base/log.h"
#include "parley/base/result.h"
#include "parley/net/udp_socket.h"
#include "parley/relay/http_endpoint.h"
#include "parley/relay/media_loop.h"
#include "parley/relay/media_router.h"
#include "parley/relay/metrics.h"
#include "parley/relay/recording.h"
#include "parley/relay/signaling_server.h"
#include "parley/session/relay_config.h"

namespace parley::relay {

struct RelayOptions {
  SignalingServerOptions signaling;
  MediaLoopConfig media_loop;
  HttpEndpointOptions http;
};

class Relay {
 public:
  using Options = RelayOptions;

  // `logger` and `clock` are passed by argument and must outlive the relay.
  Relay(session::RelayConfig config, Logger& logger, const Options& options = {},
        const Clock& clock = SystemClock::Instance());
  ~Relay();  // Stop()
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Binds the media socket, the signaling listener and the metrics listener, and starts
  // the threads. Error (nothing left running): an address that does not parse or cannot
  // be bound, a TLS file that cannot be loaded, a setting out of range; the message names
  // the setting ("listen_media: bind 0.0.0.0:40000: Address already in use"). Throws
  // std::logic_error when called twice.
  [[nodiscard]] Status Start();

  // Graceful shutdown: the metrics endpoint closes, every WebSocket gets a close frame
  // (1001) and its participant leaves, then the media loop stops, then the recorder
  // writes what it still holds and finishes every file. Idempotent; returns when all
  // threads have ended.
  void Stop();

  // Bound addresses, with the ports the system picked (valid after Start).
  const net::SocketAddress& signaling_address() const;
  const net::SocketAddress& media_address() const;
  // Empty when metrics are off (metrics_listen "").
  const net::SocketAddress& metrics_address() const;
  bool tls() const;
  // The SSRC of the relay's own RTCP (its RR and SDES; rtcp_terminator.h), drawn at
  // Start. 0 before Start.
  uint32_t relay_ssrc() const;

  // Every counter and the state now (waits up to 1 s for the signaling thread). Error
  // before Start, or when the signaling thread did not answer.
  [[nodiscard]] Result<RelayStats> stats() const;

  // Why the media thread stopped, when it stopped on a system error; nullopt while it
  // runs (or after a clean Stop). The relay should then be stopped and restarted.
  std::optional<Error> media_failure() const;

 private:
  HttpResponse HandleHttp(std::string_view target) const;

  // Passed by argument.
  const session::RelayConfig config_;
  Logger& logger_;
  const Options options_;
  const Clock& clock_;

  // Allocated by this, in the order they start (and the reverse of their stop; the
  // recorder, which the router and the signaling server call, stops last).
  std::unique_ptr<RoomRecorder> recorder_;
  std::unique_ptr<MediaRouter> router_;
  std::unique_ptr<MediaLoop> media_loop_;
  std::unique_ptr<MediaLoopListener> media_error_log_;
  std::atomic<bool> stop_media_{false};
  std::thread media_thread_;
  std::unique_ptr<SignalingServer> signaling_;
  std::unique_ptr<HttpEndpoint> http_;
  Clock::TimePoint started_at_{};
  bool started_ = false;
  bool stopped_ = false;
  net::SocketAddress no_address_;

  mutable std::mutex failure_mutex_;
  std::optional<Error> media_failure_;  // guarded by failure_mutex_
};

}  // namespace parley::relay
