// parley relay --config relay.json [--listen-signaling A] [--listen-media A]
//              [--metrics-listen A|off] [--log-level L]
#include "relay_command.h"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <ctime>
#include <optional>
#include <utility>

#include "parley/base/log.h"
#include "parley/relay/relay.h"
#include "parley/session/relay_config.h"
#include "parley/session/validation.h"

namespace parley::app {
namespace {

constexpr int kExitFailure = 1;
// How often the main thread looks at the media thread's health between signals.
constexpr long kHealthCheckNs = 200'000'000;

}  // namespace

int RunRelay(const RelayArgs& args) {
  Result<LogLevel> level = ParseLogLevel(args.log_level);
  if (!level) {
    fmt::print(stderr, "parley relay: --log-level: {}\n", level.error().message);
    return kExitFailure;
  }
  const std::pair<const char*, const std::string*> overrides[] = {
      {"--listen-signaling", &args.listen_signaling},
      {"--listen-media", &args.listen_media},
      {"--metrics-listen", &args.metrics_listen}};
  for (const auto& [flag, value] : overrides) {
    if (value->empty() || (*value == "off" && value == &args.metrics_listen)) continue;
    const Status valid = session::CheckSocketAddress(flag, *value, /*nonzero_port=*/false);
    if (!valid) {
      fmt::print(stderr, "parley relay: {}\n", valid.error().message);
      return kExitFailure;
    }
  }

  Logger logger(*level);
  Result<session::RelayConfig> config = session::LoadRelayConfig(args.config);
  if (!config) {
    logger.Error("config_invalid", {{"error", config.error().message}});
    return kExitFailure;
  }
  if (!args.listen_signaling.empty()) config->listen_signaling = args.listen_signaling;
  if (!args.listen_media.empty()) config->listen_media = args.listen_media;
  if (args.metrics_listen == "off") {
    config->metrics_listen.clear();
  } else if (!args.metrics_listen.empty()) {
    config->metrics_listen = args.metrics_listen;
  }

  // SIGINT and SIGTERM are blocked before any thread starts, so every thread inherits the
  // mask and the signals wait for this thread's sigtimedwait: no handler runs anywhere.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  relay::Relay relay(std::move(config).value(), logger);
  const Status started = relay.Start();
  if (!started) {
    logger.Error("relay_start_failed", {{"error", started.error().message}});
    return kExitFailure;
  }
  return ServeRelay(relay, logger, signals);
}

int ServeRelay(relay::Relay& relay, Logger& logger, const sigset_t& signals) {
  int exit_code = 0;
  for (;;) {
    const timespec wait{.tv_sec = 0, .tv_nsec = kHealthCheckNs};
    siginfo_t info{};
    const int signal = sigtimedwait(&signals, &info, &wait);
    if (signal == SIGINT || signal == SIGTERM) {
      logger.Info("signal_received", {{"signal", signal == SIGINT ? "SIGINT" : "SIGTERM"}});
      break;
    }
    if (std::optional<Error> failure = relay.media_failure()) {
      // Signaling alone would admit callers whose media goes nowhere: stop and let the
      // supervisor start a fresh relay.
      logger.Error(
          "relay_exiting",
          {{"reason", "media_failed"}, {"error", failure->message}, {"exit_code", kExitFailure}});
      exit_code = kExitFailure;
      break;
    }
  }
  relay.Stop();
  return exit_code;
}

}  // namespace parley::app
