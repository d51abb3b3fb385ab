// parley impair: the lab's network impairment applied to live UDP between two endpoints
// (see lab/impair_proxy.h). Declared apart from commands.h; main.cc parses the command
// line and calls RunImpair.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace parley::app {

struct ImpairArgs {
  std::string listen;   // "127.0.0.1:5000" or "[::1]:5000": where the client sends
  std::string forward;  // where its datagrams go (and whose replies go back)
  std::string preset = "good";
  // Overrides of the preset, applied to both directions.
  std::optional<double> loss_percent;   // Bernoulli loss 0..100 replacing the preset's loss
  std::optional<double> burst_packets;  // with loss_percent: mean burst (Gilbert-Elliott)
  std::optional<double> delay_ms;       // base one-way delay, ms >= 0
  std::optional<double> jitter_ms;      // mean jitter, ms >= 0 (exponential if the preset has none)
  std::optional<std::string> jitter_dist;  // uniform, exponential, pareto, gamma: the preset's else
  std::optional<double> jitter_shape;      // gamma's shape
  std::optional<double> spike_rate_per_s;  // delay spikes replacing the preset's: per s,
  std::optional<double> spike_ms;          // height,
  std::optional<double> spike_drain_ms;    // and drain time
  std::optional<uint64_t> seed;            // upstream seed; downstream uses seed + 1
  double duration_s = 0.0;                 // 0: until SIGINT or SIGTERM
};
// Runs the proxy, printing per-direction counters to stderr every 5 s and at exit. Exit
// code 0 after the duration or a signal; 1 when a socket cannot be bound, the wait fails
// or an argument is bad (one line naming it).
int RunImpair(const ImpairArgs& args);

}  // namespace parley::app
