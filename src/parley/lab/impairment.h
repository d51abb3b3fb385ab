// The network impairment model of the lab: what happens to each packet between
// sender and receiver. Loss (Bernoulli or Gilbert-Elliott), one-way delay = base + jitter
// + delay spikes that drain, reordering as a consequence of the delays, duplication, and a
// bandwidth cap with a bounded queue. Seeded with base/random.h's portable generator: a
// seed gives the same fates on every machine.
//
// The path of one packet, in order:
//   1. the bottleneck (bandwidth_kbps > 0): a FIFO in front of a link serialising at
//      bandwidth_kbps; a packet that would wait more than queue_ms is tail-dropped;
//   2. random loss (Bernoulli, or Gilbert-Elliott with one state transition per packet),
//      drawn for every packet whatever happened at step 1;
//   3. delay: arrival = send + base + jitter + spikes + queueing (the wait plus the
//      serialisation of step 1); preserve_order then clamps the arrival to the latest one
//      so far;
//   4. duplication: a delivered packet arrives a second time duplicate_delay_ms later.
// Each aspect draws from its own generator, so that for one seed changing the loss leaves
// the delays as they were, and vice versa.
//
// Threading: not thread-safe; one model per direction of a link.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/random.h"
#include "parley/base/result.h"

namespace parley::lab {

enum class LossModel {
  kNone,
  kBernoulli,       // each packet lost with loss_rate, independently
  kGilbertElliott,  // two states: good (loss_good) and bad (loss_bad)
};

enum class JitterDistribution {
  kNone,         // delay = base (+ spikes)
  kUniform,      // jitter uniform in [0, 2 x jitter_ms): mean jitter_ms
  kExponential,  // mean jitter_ms
  kPareto,       // heavy tail, shape 2.5, mean jitter_ms (Wi-Fi retransmissions)
  kGamma,        // shape jitter_shape, mean jitter_ms (queueing delay on a busy path)
};

// "uniform", "exponential", "pareto", "gamma" ("none" for kNone).
std::string_view JitterDistributionName(JitterDistribution distribution);
// The distribution called `name` (one of the names above but "none"), or an Error listing
// them.
Result<JitterDistribution> ParseJitterDistribution(std::string_view name);

// The range of jitter_shape: below 0.1 the gamma's tail (scale 10 x its mean and more)
// holds packets for many seconds; above 1000 it is a constant in all but name.
inline constexpr double kMinJitterShape = 0.1;
inline constexpr double kMaxJitterShape = 1000.0;

struct ImpairmentConfig {
  // --- loss ---
  LossModel loss = LossModel::kNone;
  double loss_rate = 0.0;  // Bernoulli: probability a packet is lost, 0..1
  // Gilbert-Elliott: per-packet transition probabilities and loss probability per state.
  // Stationary loss = pi_bad x loss_bad + pi_good x loss_good, pi_bad = p / (p + r);
  // mean burst (bad-state sojourn) = 1 / r packets.
  double ge_good_to_bad = 0.0;  // p
  double ge_bad_to_good = 1.0;  // r
  double ge_loss_good = 0.0;
  double ge_loss_bad = 1.0;

  // --- delay ---
  double base_delay_ms = 20.0;
  JitterDistribution jitter = JitterDistribution::kNone;
  double jitter_ms = 0.0;  // mean of the jitter term
  // Gamma jitter: the shape k (kMinJitterShape..kMaxJitterShape); the standard deviation is
  // jitter_ms / sqrt(k). 1 is the exponential; 2 (the default) has a mode at half the mean
  // and a lighter tail. Other distributions ignore it.
  double jitter_shape = 2.0;
  // Jitter correlation 0..1: the jitter term is correlation x previous + (1 - correlation)
  // x fresh draw, so consecutive packets see similar queues (as on a real path) and
  // reordering stays realistic. 0: independent per packet.
  double jitter_correlation = 0.0;
  // Keep order (a FIFO path): a packet never arrives before the one sent before it.
  bool preserve_order = false;
  // Delay spikes: events at spike_rate_per_s (Poisson); each adds spike_ms at once, which
  // then drains linearly to 0 over spike_drain_ms (a queue building and emptying).
  double spike_rate_per_s = 0.0;
  double spike_ms = 0.0;
  double spike_drain_ms = 0.0;

  // --- duplication ---
  double duplicate_rate = 0.0;      // probability a packet arrives twice (second copy later)
  double duplicate_delay_ms = 5.0;  // extra delay of the copy

  // --- bandwidth cap ---
  double bandwidth_kbps = 0.0;  // 0: unlimited. Packets are serialised at this rate...
  double queue_ms = 200.0;      // ...behind a queue holding at most this much; beyond: lost

  uint64_t seed = 1;

  // Ok, or an Error naming the first field out of range.
  [[nodiscard]] Status Validate() const;
};

// What happened to one packet: arrival times, ms on the sender's clock (empty: lost;
// two entries: duplicated).
struct PacketFate {
  std::vector<double> arrivals_ms;
  bool lost() const { return arrivals_ms.empty(); }
};

class ImpairmentModel {
 public:
  // Throws std::invalid_argument when config.Validate() fails.
  explicit ImpairmentModel(const ImpairmentConfig& config);

  // The fate of the next packet, sent at `send_ms` (non-decreasing) with `bytes` on the
  // wire (IP/UDP overhead included by the caller if it wants it counted). Throws
  // std::invalid_argument if send_ms is not finite or goes back, or bytes < 0.
  PacketFate Next(double send_ms, int bytes);

  // Adds one delay spike starting at `at_ms` on top of the random ones: a scripted
  // handover at a known instant, or a test. Affects packets sent from `at_ms` on; adds
  // nothing when spike_ms or spike_drain_ms is 0.
  void AddSpike(double at_ms);

  const ImpairmentConfig& config() const { return config_; }

 private:
  double NextJitterMs();
  double SpikeDelayMs(double send_ms);
  void InsertSpike(double at_ms);

  ImpairmentConfig config_;
  // One generator per aspect, so that changing one aspect (say the loss rate) leaves the
  // others' draws (the delays) as they were for the same seed.
  Random loss_random_;
  Random jitter_random_;
  Random spike_random_;
  Random duplicate_random_;
  bool bad_state_ = false;  // Gilbert-Elliott state
  bool first_packet_ = true;
  double previous_jitter_ms_ = 0.0;  // jitter term of the previous packet
  double last_send_ms_ = 0.0;
  double last_arrival_ms_ = 0.0;        // latest arrival so far (preserve_order)
  double next_spike_ms_ = 0.0;          // next random spike instant, send clock
  std::deque<double> spike_starts_ms_;  // spikes still draining, in start order
  double queue_free_ms_ = 0.0;          // when the bandwidth-capped link is idle again
};

// A named network (wifi, lte-handover, congested, satellite, ...).
struct NetworkPreset {
  std::string_view name;
  std::string_view description;  // one line: what it models
  ImpairmentConfig config;
};

// Every preset, in a stable order.
std::span<const NetworkPreset> NetworkPresets();
// The preset called `name`, or an Error listing the known names.
Result<ImpairmentConfig> FindNetworkPreset(std::string_view name);

// Changes to a preset, as the lab and the proxy take them on their command lines.
struct NetworkOverrides {
  std::optional<double> loss_percent;   // loss 0..100 replacing the preset's
  std::optional<double> burst_packets;  // with loss_percent: mean burst > 1 (Gilbert-Elliott)
  std::optional<double> delay_ms;       // base one-way delay
  std::optional<double> jitter_ms;      // mean jitter (exponential if the preset has none; 0: none)
  // The jitter distribution replacing the preset's (its mean: jitter_ms, else the preset's,
  // which must then be above 0); not kNone (jitter_ms 0 turns jitter off).
  std::optional<JitterDistribution> jitter_distribution;
  std::optional<double> jitter_shape;  // gamma's shape; only with a gamma distribution
  // Delay spikes replacing the preset's (ImpairmentConfig's spike_* fields): events per s,
  // height ms, drain ms. A rate or height of 0 turns them off.
  std::optional<double> spike_rate_per_s;
  std::optional<double> spike_ms;
  std::optional<double> spike_drain_ms;
  std::optional<uint64_t> seed;
};
// `preset` with `overrides` applied and validated; `label` (optional) receives a one-line
// description ("wifi, loss 5 % random, seed 3"). Errors name the preset or the field.
Result<ImpairmentConfig> ResolveNetwork(std::string_view preset, const NetworkOverrides& overrides,
                                        std::string* label = nullptr);

}  // namespace parley::lab
