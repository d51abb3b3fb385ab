// parley impair --listen A --forward B [--preset NAME] [overrides]: a UDP proxy that
// applies a network preset to both directions of a point-to-point link.
#include "impair_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "parley/base/clock.h"
#include "parley/lab/impair_proxy.h"
#include "stop_signal.h"

namespace parley::app {
namespace {

using std::chrono::milliseconds;

constexpr std::chrono::seconds kReportInterval{5};
// Longest single wait of the loop: how late a report or the end of --duration may be.
constexpr milliseconds kMaxTurn{100};

std::string DescribeLoss(const lab::ImpairmentConfig& c) {
  switch (c.loss) {
    case lab::LossModel::kNone:
      return "no loss";
    case lab::LossModel::kBernoulli:
      return fmt::format("{:g} % random loss", c.loss_rate * 100);
    case lab::LossModel::kGilbertElliott:
      return fmt::format("burst loss (Gilbert-Elliott p {:g}, r {:g})", c.ge_good_to_bad,
                         c.ge_bad_to_good);
  }
  return "?";
}

std::string Describe(const lab::ImpairmentConfig& c) {
  std::string text = fmt::format("delay {:g} ms", c.base_delay_ms);
  if (c.jitter != lab::JitterDistribution::kNone) {
    text += fmt::format(" + jitter {:g} ms {}", c.jitter_ms, lab::JitterDistributionName(c.jitter));
    if (c.jitter == lab::JitterDistribution::kGamma) {
      text += fmt::format(" (shape {:g})", c.jitter_shape);
    }
  }
  text += ", " + DescribeLoss(c);
  if (c.duplicate_rate > 0) text += fmt::format(", {:g} % duplicated", c.duplicate_rate * 100);
  if (c.bandwidth_kbps > 0) text += fmt::format(", {:g} kbit/s cap", c.bandwidth_kbps);
  return text;
}

void PrintDirection(double elapsed_s, const char* name, const lab::ImpairDirectionStats& s) {
  const double loss_percent = s.received > 0 ? 100.0 * s.lost / s.received : 0.0;
  fmt::print(stderr,
             "parley impair: [{:7.1f} s] {:<10} received {}, forwarded {}, lost {} ({:.2f} %), "
             "duplicated {}, queue drops {}, foreign {}, oversize {}, send errors {}, queued {}\n",
             elapsed_s, name, s.received, s.forwarded, s.lost, loss_percent, s.duplicated,
             s.queue_dropped, s.foreign_dropped, s.oversize_dropped, s.send_errors, s.queued);
}

void PrintStats(double elapsed_s, const lab::ImpairProxyStats& stats) {
  PrintDirection(elapsed_s, "upstream", stats.upstream);
  PrintDirection(elapsed_s, "downstream", stats.downstream);
}

// The preset with the command line's overrides; an Error names the bad argument.
Result<lab::ImpairmentConfig> BuildImpairment(const ImpairArgs& args) {
  lab::NetworkOverrides overrides;
  overrides.loss_percent = args.loss_percent;
  overrides.burst_packets = args.burst_packets;
  overrides.delay_ms = args.delay_ms;
  overrides.jitter_ms = args.jitter_ms;
  if (args.jitter_dist) {
    auto distribution = lab::ParseJitterDistribution(*args.jitter_dist);
    if (!distribution) return Error{"--jitter-dist: " + distribution.error().message};
    overrides.jitter_distribution = *distribution;
  }
  overrides.jitter_shape = args.jitter_shape;
  overrides.spike_rate_per_s = args.spike_rate_per_s;
  overrides.spike_ms = args.spike_ms;
  overrides.spike_drain_ms = args.spike_drain_ms;
  overrides.seed = args.seed;
  auto config = lab::ResolveNetwork(args.preset, overrides);
  if (!config) return Error{"impairment: " + config.error().message};
  return config;
}

}  // namespace

int RunImpair(const ImpairArgs& args) {
  auto listen = net::SocketAddress::Parse(args.listen);
  if (!listen) {
    fmt::print(stderr, "parley impair: --listen: {}\n", listen.error().message);
    return 1;
  }
  auto forward = net::SocketAddress::Parse(args.forward);
  if (!forward) {
    fmt::print(stderr, "parley impair: --forward: {}\n", forward.error().message);
    return 1;
  }
  if (!(args.duration_s >= 0.0)) {
    fmt::print(stderr, "parley impair: --duration {} is not >= 0\n", args.duration_s);
    return 1;
  }
  auto impairment = BuildImpairment(args);
  if (!impairment) {
    fmt::print(stderr, "parley impair: {}\n", impairment.error().message);
    return 1;
  }
  const lab::ImpairProxyConfig config =
      lab::ImpairProxyConfig::BothWays(*listen, *forward, *impairment);
  if (Status s = config.Validate(); !s) {
    fmt::print(stderr, "parley impair: {}\n", s.error().message);
    return 1;
  }

  const Clock& clock = SystemClock::Instance();
  lab::ImpairProxy proxy(clock, config);
  if (Status s = proxy.Start(); !s) {
    fmt::print(stderr, "parley impair: {}\n", s.error().message);
    return 1;
  }
  InstallStopSignalHandlers();
  fmt::print(stderr,
             "parley impair: {} -> {} (upstream socket {}), preset {}: {}; seeds {} up, {} down\n",
             proxy.listen_address().ToString(), config.forward.ToString(),
             proxy.upstream_address().ToString(), args.preset, Describe(*impairment),
             config.upstream.seed, config.downstream.seed);

  const Clock::TimePoint start = clock.Now();
  const auto elapsed_s = [&] { return std::chrono::duration<double>(clock.Now() - start).count(); };
  const bool bounded = args.duration_s > 0.0;
  const Clock::TimePoint end =
      start + std::chrono::duration_cast<Clock::Duration>(
                  std::chrono::duration<double>(bounded ? args.duration_s : 0.0));
  Clock::TimePoint next_report = start + kReportInterval;
  bool client_announced = false;
  int exit_code = 0;
  while (!StopRequested()) {
    const Clock::TimePoint now = clock.Now();
    if (bounded && now >= end) break;
    milliseconds turn = kMaxTurn;
    if (bounded) {
      turn = std::min(turn, std::chrono::ceil<milliseconds>(end - now));
    }
    if (Status s = proxy.RunOnce(turn); !s) {
      fmt::print(stderr, "parley impair: {}\n", s.error().message);
      exit_code = 1;
      break;
    }
    if (!client_announced && !proxy.client().empty()) {
      fmt::print(stderr, "parley impair: client {}\n", proxy.client().ToString());
      client_announced = true;
    }
    if (clock.Now() >= next_report) {
      PrintStats(elapsed_s(), proxy.stats());
      // After a stall, one report, then back on the 5 s grid.
      while (next_report <= clock.Now()) next_report += kReportInterval;
    }
  }
  proxy.Stop();
  PrintStats(elapsed_s(), proxy.stats());
  return exit_code;
}

}  // namespace parley::app
