// The relay's numbers as Prometheus metrics (text exposition format 0.0.4) and as the
// health check's JSON. docs/relay.md lists every metric with its meaning.
//
// All names begin with parley_relay_. Counters end in _total and only grow while the
// process lives; gauges (rooms, participants, open connections, uptime) are the state at
// the scrape. Every labelled family lists all its label values, zeros included, so a
// rate() never starts from a missing series.
//
// Per-link loss, jitter and round-trip time are histograms over every link (one
// observation per RTCP report, rtcp_terminator.h): the relay may carry thousands of
// links, too many for a series each.
//
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "parley/relay/media_loop.h"
#include "parley/relay/media_router.h"
#include "parley/relay/recording.h"
#include "parley/relay/signaling_server.h"

namespace parley::relay {

// Everything the relay counts, gathered at one scrape.
struct RelayStats {
  double uptime_s = 0;  // since Relay::Start
  SignalingStats signaling;
  RouterCounters router;
  LinkDistributions links;
  MediaLoopCounters media;
  RecordingCounters recording;  // all zero when recording is off
};

// The metrics page: HELP and TYPE lines, then the samples, one family after another.
std::string FormatPrometheus(const RelayStats& stats);

// The health check's body: {"status":"ok","uptime_s":12.5,"rooms":1,"participants":2}.
std::string FormatHealth(const RelayStats& stats);

// The Content-Type of FormatPrometheus's text.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace parley::relay
