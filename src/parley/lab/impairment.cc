#include "parley/lab/impairment.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

namespace parley::lab {
namespace {

// The tail index of Pareto jitter: heavy enough for Wi-Fi retransmission bursts, with a
// finite variance so that the mean converges in a call-length run.
constexpr double kParetoShape = 2.5;

// Bounds that keep the model's cost per packet small and its numbers meaningful.
constexpr double kMaxSpikeRatePerS = 100.0;
constexpr double kMaxSpikeDrainMs = 60'000.0;

// Turns the user's seed into independent seeds for the per-aspect generators.
uint64_t AspectSeed(uint64_t seed, uint64_t aspect) {
  Random mixer(seed ^ (aspect * 0xD1B54A32D192ED03ull));
  return mixer.NextU64();
}

Status CheckProbability(std::string_view field, double value) {
  if (!std::isfinite(value) || value < 0.0 || value > 1.0) {
    return Error{fmt::format("impairment: {} {} is outside [0, 1]", field, value)};
  }
  return Status::Ok();
}

Status CheckNonNegative(std::string_view field, double value) {
  if (!std::isfinite(value) || value < 0.0) {
    return Error{fmt::format("impairment: {} {} must be a finite number >= 0", field, value)};
  }
  return Status::Ok();
}

constexpr std::array<std::pair<JitterDistribution, std::string_view>, 5> kJitterNames = {{
    {JitterDistribution::kNone, "none"},
    {JitterDistribution::kUniform, "uniform"},
    {JitterDistribution::kExponential, "exponential"},
    {JitterDistribution::kPareto, "pareto"},
    {JitterDistribution::kGamma, "gamma"},
}};

}  // namespace

std::string_view JitterDistributionName(JitterDistribution distribution) {
  for (const auto& [value, name] : kJitterNames) {
    if (value == distribution) return name;
  }
  return "unknown";
}

Result<JitterDistribution> ParseJitterDistribution(std::string_view name) {
  std::string known;
  for (const auto& [value, known_name] : kJitterNames) {
    if (value == JitterDistribution::kNone) continue;
    if (known_name == name) return value;
    known += (known.empty() ? "" : ", ") + std::string(known_name);
  }
  return Error{fmt::format("unknown jitter distribution '{}' (known: {})", name, known)};
}

Status ImpairmentConfig::Validate() const {
  switch (loss) {
    case LossModel::kNone:
    case LossModel::kBernoulli:
    case LossModel::kGilbertElliott:
      break;
    default:
      return Error{fmt::format("impairment: loss model {} is unknown", static_cast<int>(loss))};
  }
  switch (jitter) {
    case JitterDistribution::kNone:
    case JitterDistribution::kUniform:
    case JitterDistribution::kExponential:
    case JitterDistribution::kPareto:
    case JitterDistribution::kGamma:
      break;
    default:
      return Error{
          fmt::format("impairment: jitter distribution {} is unknown", static_cast<int>(jitter))};
  }
  if (!std::isfinite(jitter_shape) || jitter_shape < kMinJitterShape ||
      jitter_shape > kMaxJitterShape) {
    return Error{fmt::format("impairment: jitter_shape {} is outside [{}, {}]", jitter_shape,
                             kMinJitterShape, kMaxJitterShape)};
  }
  const std::array<std::pair<std::string_view, double>, 6> probabilities = {{
      {"loss_rate", loss_rate},
      {"ge_good_to_bad", ge_good_to_bad},
      {"ge_bad_to_good", ge_bad_to_good},
      {"ge_loss_good", ge_loss_good},
      {"ge_loss_bad", ge_loss_bad},
      {"duplicate_rate", duplicate_rate},
  }};
  for (const auto& [field, value] : probabilities) {
    if (Status status = CheckProbability(field, value); !status) return status;
  }
  // At 1 the jitter term would stay at its first value forever.
  if (!std::isfinite(jitter_correlation) || jitter_correlation < 0.0 || jitter_correlation >= 1.0) {
    return Error{
        fmt::format("impairment: jitter_correlation {} is outside [0, 1)", jitter_correlation)};
  }
  const std::array<std::pair<std::string_view, double>, 8> amounts = {{
      {"base_delay_ms", base_delay_ms},
      {"jitter_ms", jitter_ms},
      {"spike_rate_per_s", spike_rate_per_s},
      {"spike_ms", spike_ms},
      {"spike_drain_ms", spike_drain_ms},
      {"duplicate_delay_ms", duplicate_delay_ms},
      {"bandwidth_kbps", bandwidth_kbps},
      {"queue_ms", queue_ms},
  }};
  for (const auto& [field, value] : amounts) {
    if (Status status = CheckNonNegative(field, value); !status) return status;
  }
  if (spike_rate_per_s > kMaxSpikeRatePerS) {
    return Error{fmt::format("impairment: spike_rate_per_s {} exceeds {}", spike_rate_per_s,
                             kMaxSpikeRatePerS)};
  }
  if (spike_drain_ms > kMaxSpikeDrainMs) {
    return Error{
        fmt::format("impairment: spike_drain_ms {} exceeds {}", spike_drain_ms, kMaxSpikeDrainMs)};
  }
  if (spike_rate_per_s > 0.0 && spike_ms > 0.0 && spike_drain_ms <= 0.0) {
    return Error{
        "impairment: spike_drain_ms must be > 0 when spikes are on (spike_rate_per_s "
        "and spike_ms > 0): a spike that drains in no time adds nothing"};
  }
  return Status::Ok();
}

ImpairmentModel::ImpairmentModel(const ImpairmentConfig& config)
    : config_(config),
      loss_random_(AspectSeed(config.seed, 1)),
      jitter_random_(AspectSeed(config.seed, 2)),
      spike_random_(AspectSeed(config.seed, 3)),
      duplicate_random_(AspectSeed(config.seed, 4)) {
  if (Status status = config.Validate(); !status) {
    throw std::invalid_argument(status.error().message);
  }
}

void ImpairmentModel::AddSpike(double at_ms) {
  if (!std::isfinite(at_ms)) throw std::invalid_argument("ImpairmentModel::AddSpike: not finite");
  InsertSpike(at_ms);
}

void ImpairmentModel::InsertSpike(double at_ms) {
  spike_starts_ms_.insert(std::upper_bound(spike_starts_ms_.begin(), spike_starts_ms_.end(), at_ms),
                          at_ms);
}

double ImpairmentModel::NextJitterMs() {
  double fresh = 0.0;
  switch (config_.jitter) {
    case JitterDistribution::kNone:
      return 0.0;
    case JitterDistribution::kUniform:
      fresh = jitter_random_.Uniform(0.0, 2.0 * config_.jitter_ms);
      break;
    case JitterDistribution::kExponential:
      fresh = jitter_random_.Exponential(config_.jitter_ms);
      break;
    case JitterDistribution::kPareto:
      fresh = jitter_random_.Pareto(kParetoShape, config_.jitter_ms);
      break;
    case JitterDistribution::kGamma:
      fresh = jitter_random_.Gamma(config_.jitter_shape, config_.jitter_ms);
      break;
  }
  // The first packet starts from a fresh draw, so the correlated series has the
  // configured mean from the start rather than climbing up from zero.
  const double c = first_packet_ ? 0.0 : config_.jitter_correlation;
  previous_jitter_ms_ = c * previous_jitter_ms_ + (1.0 - c) * fresh;
  return previous_jitter_ms_;
}

double ImpairmentModel::SpikeDelayMs(double send_ms) {
  if (config_.spike_rate_per_s > 0.0 && config_.spike_ms > 0.0) {
    const double mean_interval_ms = 1000.0 / config_.spike_rate_per_s;
    if (first_packet_) next_spike_ms_ = send_ms + spike_random_.Exponential(mean_interval_ms);
    while (next_spike_ms_ <= send_ms) {
      // A spike that drained before this packet matters to no packet from now on.
      if (next_spike_ms_ + config_.spike_drain_ms > send_ms) InsertSpike(next_spike_ms_);
      next_spike_ms_ += spike_random_.Exponential(mean_interval_ms);
    }
  }
  while (!spike_starts_ms_.empty() &&
         spike_starts_ms_.front() + config_.spike_drain_ms <= send_ms) {
    spike_starts_ms_.pop_front();
  }
  double delay_ms = 0.0;
  for (double start_ms : spike_starts_ms_) {
    if (start_ms > send_ms) break;  // a scripted spike still ahead
    delay_ms += config_.spike_ms * (1.0 - (send_ms - start_ms) / config_.spike_drain_ms);
  }
  return delay_ms;
}

PacketFate ImpairmentModel::Next(double send_ms, int bytes) {
  if (!std::isfinite(send_ms) || (!first_packet_ && send_ms < last_send_ms_)) {
    throw std::invalid_argument(
        fmt::format("ImpairmentModel::Next: send_ms {} after {}", send_ms, last_send_ms_));
  }
  if (bytes < 0) throw std::invalid_argument("ImpairmentModel::Next: bytes < 0");

  // 1. The bottleneck.
  bool dropped = false;
  double queueing_ms = 0.0;
  if (config_.bandwidth_kbps > 0.0) {
    const double wait_ms = std::max(0.0, queue_free_ms_ - send_ms);
    if (wait_ms > config_.queue_ms) {
      dropped = true;  // tail drop: the packet never enters the queue
    } else {
      const double serialisation_ms = bytes * 8.0 / config_.bandwidth_kbps;  // kbit/s = bit/ms
      queueing_ms = wait_ms + serialisation_ms;
      queue_free_ms_ = send_ms + queueing_ms;
    }
  }

  // 2. Random loss, one draw (and one transition) per packet.
  switch (config_.loss) {
    case LossModel::kNone:
      break;
    case LossModel::kBernoulli:
      dropped |= loss_random_.Bernoulli(config_.loss_rate);
      break;
    case LossModel::kGilbertElliott: {
      const bool flip =
          loss_random_.Bernoulli(bad_state_ ? config_.ge_bad_to_good : config_.ge_good_to_bad);
      if (flip) bad_state_ = !bad_state_;
      dropped |= loss_random_.Bernoulli(bad_state_ ? config_.ge_loss_bad : config_.ge_loss_good);
      break;
    }
  }

  // 3. Delay. Jitter and duplication are drawn for lost packets too, so that their series
  // do not depend on the loss pattern.
  const double jitter_ms = NextJitterMs();
  const double spike_ms = SpikeDelayMs(send_ms);
  const bool duplicated = duplicate_random_.Bernoulli(config_.duplicate_rate);
  first_packet_ = false;
  last_send_ms_ = send_ms;

  PacketFate fate;
  if (dropped) return fate;
  double arrival_ms = send_ms + config_.base_delay_ms + jitter_ms + spike_ms + queueing_ms;
  if (config_.preserve_order) arrival_ms = std::max(arrival_ms, last_arrival_ms_);
  fate.arrivals_ms.push_back(arrival_ms);
  // 4. Duplication.
  if (duplicated) fate.arrivals_ms.push_back(arrival_ms + config_.duplicate_delay_ms);
  last_arrival_ms_ = std::max(last_arrival_ms_, fate.arrivals_ms.back());
  return fate;
}

std::span<const NetworkPreset> NetworkPresets() {
  static const std::array<NetworkPreset, 7> presets = [] {
    ImpairmentConfig perfect;
    perfect.base_delay_ms = 20.0;

    ImpairmentConfig good;
    good.base_delay_ms = 30.0;
    good.jitter = JitterDistribution::kExponential;
    good.jitter_ms = 2.0;
    good.jitter_correlation = 0.5;
    good.loss = LossModel::kBernoulli;
    good.loss_rate = 0.005;

    // Loss 1.2 % in bursts of 2 packets plus 0.3 % scattered: 1.5 %.
    ImpairmentConfig wifi;
    wifi.base_delay_ms = 15.0;
    wifi.jitter = JitterDistribution::kPareto;
    wifi.jitter_ms = 6.0;
    wifi.jitter_correlation = 0.3;
    wifi.loss = LossModel::kGilbertElliott;
    wifi.ge_good_to_bad = 0.006;
    wifi.ge_bad_to_good = 0.5;
    wifi.ge_loss_good = 0.003;
    wifi.ge_loss_bad = 1.0;
    wifi.spike_rate_per_s = 0.05;
    wifi.spike_ms = 80.0;
    wifi.spike_drain_ms = 400.0;
    wifi.duplicate_rate = 0.001;

    // Loss 1.8 % in bursts of ~5 packets (100 ms); mobile links deliver in order.
    ImpairmentConfig lte;
    lte.base_delay_ms = 45.0;
    lte.jitter = JitterDistribution::kExponential;
    lte.jitter_ms = 8.0;
    lte.jitter_correlation = 0.6;
    lte.preserve_order = true;
    lte.spike_rate_per_s = 1.0 / 9.0;
    lte.spike_ms = 400.0;
    lte.spike_drain_ms = 1000.0;
    lte.loss = LossModel::kGilbertElliott;
    lte.ge_good_to_bad = 0.004;
    lte.ge_bad_to_good = 0.2;
    lte.ge_loss_good = 0.001;
    lte.ge_loss_bad = 0.9;

    // Loss 5.1 % in bursts of ~3 packets. 64 kbit/s carries 160 bytes per 20 ms: an Opus
    // 32 kbit/s stream with its headers (~120 bytes) fits, bigger packets fill the queue.
    ImpairmentConfig congested;
    congested.base_delay_ms = 50.0;
    congested.jitter = JitterDistribution::kExponential;
    congested.jitter_ms = 15.0;
    congested.jitter_correlation = 0.8;
    congested.loss = LossModel::kGilbertElliott;
    congested.ge_good_to_bad = 0.02;
    congested.ge_bad_to_good = 0.35;
    congested.ge_loss_good = 0.003;
    congested.ge_loss_bad = 0.9;
    congested.bandwidth_kbps = 64.0;
    congested.queue_ms = 200.0;

    ImpairmentConfig satellite;
    satellite.base_delay_ms = 300.0;
    satellite.jitter = JitterDistribution::kUniform;
    satellite.jitter_ms = 4.0;
    satellite.jitter_correlation = 0.5;
    satellite.preserve_order = true;
    satellite.loss = LossModel::kBernoulli;
    satellite.loss_rate = 0.01;

    // Loss 10 % in bursts of ~3 packets, Pareto jitter of 40 ms mean, a spike every 10 s.
    ImpairmentConfig bad;
    bad.base_delay_ms = 80.0;
    bad.jitter = JitterDistribution::kPareto;
    bad.jitter_ms = 40.0;
    bad.jitter_correlation = 0.5;
    bad.loss = LossModel::kGilbertElliott;
    bad.ge_good_to_bad = 0.038;
    bad.ge_bad_to_good = 0.3;
    bad.ge_loss_good = 0.005;
    bad.ge_loss_bad = 0.85;
    bad.spike_rate_per_s = 0.1;
    bad.spike_ms = 250.0;
    bad.spike_drain_ms = 600.0;
    bad.duplicate_rate = 0.005;

    return std::array<NetworkPreset, 7>{{
        {"perfect", "no impairment: a fixed 20 ms one-way delay", perfect},
        {"good", "a good wired path: 30 ms, ~2 ms jitter, 0.5 % random loss", good},
        {"wifi",
         "home Wi-Fi: 15 ms, Pareto jitter bursts (retransmissions), 1.5 % loss in short "
         "bursts, an 80 ms spike every ~20 s",
         wifi},
        {"lte-handover",
         "mobile data with handovers: 45 ms, 8 ms jitter, a 400 ms spike draining over 1 s "
         "every ~9 s, 1.8 % loss in 100 ms bursts, in order",
         lte},
        {"congested",
         "a congested access link: 64 kbit/s bottleneck with a 200 ms tail-drop queue, "
         "correlated 15 ms jitter, 5 % bursty loss",
         congested},
        {"satellite",
         "a geostationary satellite hop: 300 ms, 0-8 ms jitter, 1 % random loss, in order",
         satellite},
        {"bad",
         "a bad path: 80 ms, heavy Pareto jitter (40 ms mean), 10 % bursty loss, 250 ms spikes",
         bad},
    }};
  }();
  return presets;
}

Result<ImpairmentConfig> FindNetworkPreset(std::string_view name) {
  std::string known;
  for (const NetworkPreset& preset : NetworkPresets()) {
    if (preset.name == name) return preset.config;
    if (!known.empty()) known += ", ";
    known += preset.name;
  }
  return Error{fmt::format("unknown network preset '{}' (known: {})", name, known)};
}

Result<ImpairmentConfig> ResolveNetwork(std::string_view preset, const NetworkOverrides& overrides,
                                        std::string* label) {
  auto found = FindNetworkPreset(preset);
  if (!found.ok()) return found.error();
  ImpairmentConfig model = *found;
  std::string text(preset);
  auto number = [](double value) { return fmt::format("{:g}", value); };
  if (overrides.loss_percent) {
    const double p = *overrides.loss_percent / 100.0;
    if (overrides.burst_packets && *overrides.burst_packets > 1) {
      // Gilbert-Elliott with a lossless good and a lossy bad state: mean burst 1/r, and
      // the stationary loss p = pi_bad = g / (g + r), so g = r p / (1 - p).
      model.loss = LossModel::kGilbertElliott;
      model.ge_bad_to_good = 1.0 / *overrides.burst_packets;
      model.ge_good_to_bad = p >= 1 ? 1.0 : model.ge_bad_to_good * p / (1 - p);
      model.ge_loss_good = 0;
      model.ge_loss_bad = 1;
      text += ", loss " + number(*overrides.loss_percent) + " % in bursts of " +
              number(*overrides.burst_packets);
    } else {
      model.loss = LossModel::kBernoulli;
      model.loss_rate = p;
      text += ", loss " + number(*overrides.loss_percent) + " % random";
    }
  }
  if (overrides.delay_ms) {
    model.base_delay_ms = *overrides.delay_ms;
    text += ", base delay " + number(*overrides.delay_ms) + " ms";
  }
  if (overrides.jitter_ms) {
    model.jitter_ms = *overrides.jitter_ms;
    if (*overrides.jitter_ms == 0) {
      model.jitter = JitterDistribution::kNone;
    } else if (model.jitter == JitterDistribution::kNone) {
      model.jitter = JitterDistribution::kExponential;
    }
    text += ", jitter " + number(*overrides.jitter_ms) + " ms";
  }
  if (overrides.jitter_distribution) {
    if (*overrides.jitter_distribution == JitterDistribution::kNone) {
      return Error{
          "jitter distribution 'none' is not one to choose: a mean jitter of 0 turns "
          "jitter off"};
    }
    // A mean of 0 (given, or the preset's) leaves nothing to distribute.
    if (model.jitter_ms <= 0) {
      return Error{fmt::format("jitter distribution '{}' needs a mean jitter above 0 (it is 0)",
                               JitterDistributionName(*overrides.jitter_distribution))};
    }
    model.jitter = *overrides.jitter_distribution;
    if (!overrides.jitter_ms) text += ", jitter " + number(model.jitter_ms) + " ms";
    text += fmt::format(" {}", JitterDistributionName(model.jitter));
  }
  if (overrides.jitter_shape) {
    if (model.jitter != JitterDistribution::kGamma) {
      return Error{fmt::format("jitter_shape {:g} applies to gamma jitter only (this jitter is {})",
                               *overrides.jitter_shape, JitterDistributionName(model.jitter))};
    }
    model.jitter_shape = *overrides.jitter_shape;
  }
  if (model.jitter == JitterDistribution::kGamma &&
      (overrides.jitter_distribution || overrides.jitter_shape)) {
    text += fmt::format(" (shape {:g})", model.jitter_shape);
  }
  if (overrides.spike_rate_per_s) model.spike_rate_per_s = *overrides.spike_rate_per_s;
  if (overrides.spike_ms) model.spike_ms = *overrides.spike_ms;
  if (overrides.spike_drain_ms) model.spike_drain_ms = *overrides.spike_drain_ms;
  if (overrides.spike_rate_per_s || overrides.spike_ms || overrides.spike_drain_ms) {
    if (model.spike_rate_per_s > 0 && model.spike_ms > 0) {
      text += fmt::format(", spikes of {} ms draining over {} ms, {}/s", number(model.spike_ms),
                          number(model.spike_drain_ms), number(model.spike_rate_per_s));
    } else {
      text += ", no spikes";
    }
  }
  if (overrides.seed) model.seed = *overrides.seed;
  if (Status s = model.Validate(); !s.ok()) return s.error();
  if (label != nullptr) *label = text + ", seed " + std::to_string(model.seed);
  return model;
}

}  // namespace parley::lab
