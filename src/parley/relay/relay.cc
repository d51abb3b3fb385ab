#include "parley/relay/relay.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace parley::relay {
namespace {

constexpr int kMaxRooms = 100'000;  // relay_config.h

// The router's tables for the configured limits. Out-of-range limits are clamped here
// only so that the router can be built; SignalingServer::Start reports them.
MediaRouterConfig RouterConfigFor(const session::RelayConfig& config) {
  const size_t rooms = static_cast<size_t>(std::clamp(config.max_rooms, 1, kMaxRooms));
  const size_t per_room = static_cast<size_t>(std::clamp(
      config.max_participants_per_room, 1, static_cast<int>(session::kMaxRoomParticipants)));
  MediaRouterConfig router;
  router.max_participants = std::min(rooms * per_room, SignalingServer::kMaxRelayParticipants);
  router.max_participants_per_room = std::min(per_room, router.max_participants);
  // A running relay draws its RTCP SSRC and report timing afresh: two relays (or one
  // restarted) never share an SSRC by construction. Tests that need a fixed value build
  // their MediaRouter themselves.
  router.rtcp.seed = (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  return router;
}

// Logs the media loop's transient socket errors (the loop bounds their rate).
class SocketErrorLog final : public MediaLoopListener {
 public:
  explicit SocketErrorLog(Logger& logger) : logger_(logger) {}
  void OnSocketError(const SocketErrorReport& report) override {
    logger_.Warn("media_socket_error",
                 {{"op", net::SocketOpName(report.op)},
                  {"errno", net::ErrnoName(report.error_number)},
                  {"error", std::system_category().message(report.error_number)},
                  {"unreported", report.unreported},
                  {"total", report.total}});
  }

 private:
  Logger& logger_;
};

}  // namespace

Relay::Relay(session::RelayConfig config, Logger& logger, const Options& options,
             const Clock& clock)
    : config_(std::move(config)), logger_(logger), options_(options), clock_(clock) {}

Relay::~Relay() { Stop(); }

Status Relay::Start() {
  if (started_) throw std::logic_error("Relay::Start called twice");
  started_ = true;
  started_at_ = clock_.Now();

  Result<net::SocketAddress> media_bind = net::SocketAddress::Parse(config_.listen_media);
  if (!media_bind) return Error{"listen_media: " + media_bind.error().message};
  std::optional<net::SocketAddress> metrics_bind;
  if (!config_.metrics_listen.empty()) {
    Result<net::SocketAddress> parsed = net::SocketAddress::Parse(config_.metrics_listen);
    if (!parsed) return Error{"metrics_listen: " + parsed.error().message};
    metrics_bind = *parsed;
  }

  if (!config_.recording_dir.empty()) {
    Result<std::unique_ptr<RoomRecorder>> recorder =
        RoomRecorder::Create({.directory = config_.recording_dir}, logger_, clock_);
    if (!recorder) return recorder.error();
    recorder_ = std::move(recorder).value();
    recorder_->Start();
  }
  router_ = std::make_unique<MediaRouter>(RouterConfigFor(config_));
  // Before the media thread starts: the tap is read there without a lock.
  router_->SetRtpTap(recorder_.get());
  Result<std::unique_ptr<MediaLoop>> loop =
      MediaLoop::Create(*media_bind, *router_, options_.media_loop, clock_);
  if (!loop) return Error{"listen_media: " + loop.error().message};
  media_loop_ = std::move(loop).value();
  media_error_log_ = std::make_unique<SocketErrorLog>(logger_);
  media_loop_->SetListener(media_error_log_.get());
  media_thread_ = std::thread([this] {
    Status run = media_loop_->Run(stop_media_);
    if (!run) {
      logger_.Error("media_loop_failed", {{"error", run.error().message}});
      std::lock_guard lock(failure_mutex_);
      media_failure_ = run.error();
    }
  });

  SignalingServerOptions signaling_options = options_.signaling;
  if (recorder_) signaling_options.participant_listener = recorder_.get();
  Result<std::unique_ptr<SignalingServer>> signaling = SignalingServer::Start(
      config_, media_loop_->local_address(), *router_, logger_, signaling_options, clock_);
  if (!signaling) {
    Stop();
    return signaling.error();
  }
  signaling_ = std::move(signaling).value();

  if (metrics_bind) {
    Result<std::unique_ptr<HttpEndpoint>> http = HttpEndpoint::Start(
        *metrics_bind, [this](std::string_view target) { return HandleHttp(target); }, logger_,
        options_.http);
    if (!http) {
      Stop();
      return Error{"metrics_listen: " + http.error().message};
    }
    http_ = std::move(http).value();
  }

  logger_.Info(
      "relay_started",
      {{"signaling", fmt::format("{}://{}", tls() ? "wss" : "ws", signaling_address().ToString())},
       {"media", media_address().ToString()},
       {"metrics", http_ ? metrics_address().ToString() : std::string("off")},
       {"public_media_address", config_.public_media_address},
       {"max_rooms", config_.max_rooms},
       {"max_participants_per_room", config_.max_participants_per_room},
       {"srtp", config_.srtp},
       {"recording_dir", recorder_ ? recorder_->directory() : std::string("off")}});
  return Status::Ok();
}

void Relay::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  const bool was_running = media_thread_.joinable() && signaling_ != nullptr;
  if (was_running) logger_.Info("relay_stopping");
  if (http_) http_->Stop();
  if (signaling_) signaling_->Stop();
  stop_media_.store(true);
  if (media_thread_.joinable()) media_thread_.join();
  // The media thread offers no more packets: what is queued is written, every file ended.
  if (recorder_) recorder_->Stop();
  if (was_running) {
    const MediaLoopCounters media = media_loop_->counters();
    const RouterCounters routed = router_->counters();
    logger_.Info("relay_stopped",
                 {{"uptime_s", std::chrono::duration<double>(clock_.Now() - started_at_).count()},
                  {"datagrams_received", media.received},
                  {"datagrams_sent", media.sent},
                  {"rtp_forwarded", routed.rtp_forwarded},
                  {"dropped", routed.dropped_total()}});
  }
}

const net::SocketAddress& Relay::signaling_address() const {
  return signaling_ ? signaling_->local_address() : no_address_;
}

const net::SocketAddress& Relay::media_address() const {
  return media_loop_ ? media_loop_->local_address() : no_address_;
}

const net::SocketAddress& Relay::metrics_address() const {
  return http_ ? http_->local_address() : no_address_;
}

bool Relay::tls() const { return signaling_ && signaling_->tls(); }

uint32_t Relay::relay_ssrc() const { return router_ ? router_->relay_ssrc() : 0; }

Result<RelayStats> Relay::stats() const {
  if (!signaling_ || !media_loop_) return Error{"the relay has not started"};
  Result<SignalingStats> signaling = signaling_->stats();
  if (!signaling) return signaling.error();
  RelayStats stats;
  stats.uptime_s = std::chrono::duration<double>(clock_.Now() - started_at_).count();
  stats.signaling = *signaling;
  stats.router = router_->counters();
  stats.links = router_->link_histograms().Snapshot();
  stats.media = media_loop_->counters();
  if (recorder_) stats.recording = recorder_->counters();
  return stats;
}

std::optional<Error> Relay::media_failure() const {
  std::lock_guard lock(failure_mutex_);
  return media_failure_;
}

HttpResponse Relay::HandleHttp(std::string_view target) const {
  const std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics" && path != "/healthz") {
    return HttpResponse{.status = 404, .body = "not found: /metrics or /healthz\n"};
  }
  Result<RelayStats> current = stats();
  if (!current) {
    return HttpResponse{.status = 503, .body = current.error().message + "\n"};
  }
  if (path == "/metrics") {
    return HttpResponse{.content_type = kPrometheusContentType, .body = FormatPrometheus(*current)};
  }
  if (std::optional<Error> failure = media_failure()) {
    return HttpResponse{.status = 503,
                        .content_type = "application/json",
                        .body = R"({"status":"media_failed"})"
                                "\n"};
  }
  return HttpResponse{.content_type = "application/json", .body = FormatHealth(*current)};
}

}  // namespace parley::relay
