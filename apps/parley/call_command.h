// parley call: a participant on the command line (client/call.h). Joins a room of a relay
// (--relay) or calls one peer directly (--peer), sends a file, records what it hears and
// prints a statistics line every second. Declared apart from commands.h; main.cc parses
// the command line and calls RunCall.
#pragma once

#include <string>

namespace parley::app {

struct CallArgs {
  // Relay mode.
  std::string relay;      // ws://HOST:PORT[/path] or wss://...
  std::string room;       // a name
  std::string token;      // from `parley token`
  std::string identity;   // optional: must equal the token's
  std::string ca_file;    // wss://: PEM bundle to trust instead of the system's
  bool insecure = false;  // wss://: do not verify the relay's certificate (tests only)
  std::string media_via;  // send media through this UDP address (a proxy) instead
  // P2P mode.
  std::string peer;    // IP:PORT of the other end
  std::string listen;  // IP:PORT to receive on (P2P: required; relay: optional)
  // Both.
  std::string send;       // WAV (any rate) or Ogg Opus; empty: listen only
  bool loop = false;      // send the file again and again
  std::string record;     // OUT.wav or OUT.opus: the mix heard
  double duration_s = 0;  // 0: see RunCall
  std::string profile = "good";
  bool quiet = false;  // no per-second line
};

// Runs the call until --duration has passed, Ctrl-C/SIGTERM, the call fails, or (without
// --duration, a file sent once) two seconds after the file has been sent, so that what
// the others said meanwhile is still heard. Prints a line per second to stderr:
//
//   parley call: [  3.0 s] active | sent 150 (29.3 kbit/s) | alice 149 lost 0 jitter 0.4 ms
//   buffer 33 ms concealed 0.0 % level -18 dBov | rec 3.0 s
//
// (kbit/s: RTP bytes sent over the last second; per peer: packets received, RFC 3550
// cumulative loss and jitter, the playout buffer now, the share of the last second that
// was concealed, the level of its last 10 ms.)
//
// Exit code 0 after a clean leave; 1 when the call could not start or failed (refused,
// relay unreachable, no hello-ack, recording error) or an argument is bad.
int RunCall(const CallArgs& args);

}  // namespace parley::app
