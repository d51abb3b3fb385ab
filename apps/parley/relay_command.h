// parley relay: runs the relay (relay/relay.h) from its configuration file until SIGINT or
// SIGTERM. Declared apart from commands.h; main.cc parses the command line and calls
// RunRelay.
#pragma once

#include <signal.h>

#include <string>

namespace parley {
class Logger;
}  // namespace parley
namespace parley::relay {
class Relay;
}  // namespace parley::relay

namespace parley::app {

struct RelayArgs {
  std::string config;  // the relay's JSON configuration (session/relay_config.h); required
  // Overrides of the file's addresses when not empty: numeric "ip:port", port 0 for any.
  std::string listen_signaling;
  std::string listen_media;
  std::string metrics_listen;      // "off" turns the metrics endpoint off
  std::string log_level = "info";  // debug, info, warn, error
};

// Logs one JSON object per line on stderr. Exit code 0 after SIGINT or SIGTERM (every
// WebSocket closed with a close frame, the media loop stopped); 1 when the configuration
// cannot be read, the relay cannot start, its media socket fails while running, or an
// argument is bad.
int RunRelay(const RelayArgs& args);

// The part of RunRelay after a successful Start: waits for one of `signals` (blocked by
// the caller) or for the media thread to fail, checking every 200 ms, then stops `relay`.
// Returns 0 after a signal; 1 when the media socket failed (logged as relay_exiting, after
// the relay's media_loop_failed), so that a supervisor restarts the relay rather than
// leave signaling up with a dead media plane.
int ServeRelay(relay::Relay& relay, Logger& logger, const sigset_t& signals);

}  // namespace parley::app
