#include "parley/playout/delay_manager.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace parley::playout {
namespace {

// The forget factor is stated per this much media time.
constexpr double kForgetReferenceMs = 20.0;
// A timestamp step used for forgetting is clamped to this range (a jump after a pause
// must not wipe the histogram in one update).
constexpr double kMinMediaStepMs = 1.0;
constexpr double kMaxMediaStepMs = 120.0;

using Ms = std::chrono::duration<double, std::milli>;

double ToMs(Clock::Duration d) { return std::chrono::duration_cast<Ms>(d).count(); }

DelayManager::Config Validated(DelayManager::Config c) {
  auto fail = [](const std::string& what) {
    throw std::invalid_argument("DelayManager::Config: " + what);
  };
  if (!(c.quantile > 0.0 && c.quantile < 1.0)) fail("quantile must be in (0, 1)");
  if (!(c.forget_factor > 0.0 && c.forget_factor < 1.0)) fail("forget_factor must be in (0, 1)");
  if (!(c.start_forget_weight >= 0.0)) fail("start_forget_weight must be >= 0");
  if (c.bucket.count() <= 0) fail("bucket must be > 0");
  if (c.min_delay.count() < 0) fail("min_delay must be >= 0");
  if (c.max_delay < c.min_delay) fail("max_delay must be >= min_delay");
  if (c.initial_target < c.min_delay || c.initial_target > c.max_delay) {
    fail("initial_target must be in [min_delay, max_delay]");
  }
  if (!(c.max_decrease_ms_per_s > 0.0)) fail("max_decrease_ms_per_s must be > 0");
  if (c.window.count() <= 0) fail("window must be > 0");
  if (c.min_packet.count() <= 0) fail("min_packet must be > 0");
  if (c.max_buffer < c.max_delay) fail("max_buffer must be >= max_delay");
  if (c.max_start_wait.count() < 0) fail("max_start_wait must be >= 0");
  return c;
}

}  // namespace

DelayManagerConfig DelayManagerConfig::Fixed(std::chrono::milliseconds frame, int start_frames,
                                             int max_frames) {
  if (frame.count() <= 0 || start_frames < 1 || max_frames < start_frames) {
    throw std::invalid_argument(
        "DelayManager::Config::Fixed: needs frame > 0 and 1 <= start_frames <= max_frames");
  }
  DelayManagerConfig c;
  c.mode = DelayMode::kFixed;
  c.initial_target = frame * start_frames;
  c.min_delay = c.initial_target;
  c.max_delay = c.initial_target;
  c.max_buffer = frame * max_frames;
  c.max_start_wait = std::chrono::milliseconds(0);
  return c;
}

DelayManager::DelayManager(Config config)
    : config_(Validated(config)),
      histogram_(static_cast<size_t>(config_.max_delay / config_.bucket) + 1, 0.0),
      window_(static_cast<size_t>(std::chrono::microseconds(config_.window) / config_.min_packet) +
              2) {
  Reset();
}

void DelayManager::Reset() {
  clock_rate_hz_ = 0;
  start_arrival_.reset();
  last_arrival_.reset();
  last_relative_delay_ms_.reset();
  previous_relative_ms_.reset();
  target_ms_ = static_cast<double>(config_.initial_target.count());
  RestartMeasurement(0);
}

void DelayManager::RestartMeasurement(int clock_rate_hz) {
  clock_rate_hz_ = clock_rate_hz;
  std::fill(histogram_.begin(), histogram_.end(), 0.0);
  window_head_ = 0;
  window_count_ = 0;
  newest_timestamp_.reset();
  updates_ = 0;
  media_step_ms_ = kForgetReferenceMs;
}

void DelayManager::PushWindow(int64_t timestamp, double raw_delay_ms) {
  const size_t capacity = window_.size();
  // Monotonic deque: entries behind the newest with a larger delay can never be the
  // minimum again.
  while (window_count_ > 0) {
    const WindowEntry& back = window_[(window_head_ + window_count_ - 1) % capacity];
    if (back.raw_delay_ms < raw_delay_ms) break;
    --window_count_;
  }
  if (window_count_ == capacity) {  // more packets than min_packet allows: drop the oldest
    window_head_ = (window_head_ + 1) % capacity;
    --window_count_;
  }
  window_[(window_head_ + window_count_) % capacity] = WindowEntry{timestamp, raw_delay_ms};
  ++window_count_;
  // Expire what left the window (by media time).
  const int64_t window_ticks = static_cast<int64_t>(config_.window.count()) * clock_rate_hz_ / 1000;
  while (window_count_ > 1 && window_[window_head_].timestamp < timestamp - window_ticks) {
    window_head_ = (window_head_ + 1) % capacity;
    --window_count_;
  }
}

void DelayManager::AddToHistogram(double relative_delay_ms, double media_step_ms) {
  if (media_step_ms != step_forget_for_ms_) {
    step_forget_ = std::pow(config_.forget_factor, media_step_ms / kForgetReferenceMs);
    step_forget_for_ms_ = media_step_ms;
  }
  double forget = step_forget_;
  if (config_.start_forget_weight > 0.0) {
    const double start = 1.0 - config_.start_forget_weight / static_cast<double>(updates_ + 1);
    forget = std::min(forget, std::max(0.0, start));
  }
  for (double& mass : histogram_) mass *= forget;
  const double bucket_ms = static_cast<double>(config_.bucket.count());
  const size_t index = std::min(histogram_.size() - 1,
                                static_cast<size_t>(std::max(0.0, relative_delay_ms) / bucket_ms));
  histogram_[index] += 1.0 - forget;
  ++updates_;
}

double DelayManager::HistogramQuantileMs() const {
  double total = 0.0;
  for (double mass : histogram_) total += mass;
  const double wanted = config_.quantile * total;
  double cumulative = 0.0;
  size_t index = 0;
  for (; index + 1 < histogram_.size(); ++index) {
    cumulative += histogram_[index];
    if (cumulative >= wanted) break;
  }
  return static_cast<double>((index + 1) * static_cast<size_t>(config_.bucket.count()));
}

std::optional<double> DelayManager::quantile_ms() const {
  if (updates_ == 0) return std::nullopt;
  return HistogramQuantileMs();
}

double DelayManager::Update(int64_t timestamp, int clock_rate_hz, Clock::TimePoint arrival) {
  if (clock_rate_hz <= 0) {
    throw std::invalid_argument("DelayManager::Update: clock_rate_hz must be > 0");
  }
  if (!start_arrival_) start_arrival_ = arrival;
  if (clock_rate_hz != clock_rate_hz_) {
    RestartMeasurement(clock_rate_hz);
    first_timestamp_ = timestamp;
    first_arrival_ = arrival;
  }

  const double raw_delay_ms =
      ToMs(arrival - first_arrival_) -
      static_cast<double>(timestamp - first_timestamp_) * 1000.0 / clock_rate_hz_;
  const bool in_order = !newest_timestamp_ || timestamp > *newest_timestamp_;
  if (in_order) {
    if (newest_timestamp_) {
      media_step_ms_ =
          std::clamp(static_cast<double>(timestamp - *newest_timestamp_) * 1000.0 / clock_rate_hz_,
                     kMinMediaStepMs, kMaxMediaStepMs);
    }
    newest_timestamp_ = timestamp;
    // A reordered packet is measured against the window but does not enter it: the deque
    // is ordered by timestamp.
    PushWindow(timestamp, raw_delay_ms);
  }
  const double min_raw_ms = window_[window_head_].raw_delay_ms;
  const double relative_ms = std::max(0.0, raw_delay_ms - min_raw_ms);
  previous_relative_ms_ = last_relative_delay_ms_;
  last_relative_delay_ms_ = relative_ms;

  AddToHistogram(relative_ms, media_step_ms_);

  if (config_.mode == Mode::kAdaptive) {
    const double quantile = HistogramQuantileMs();
    const double elapsed_s = last_arrival_ ? ToMs(arrival - *last_arrival_) / 1000.0 : 0.0;
    // Two packets in a row above the target are a delay step (a spike, a route change):
    // follow it at once. One alone is the tail of the jitter the quantile leaves out.
    const double step_ms = std::min(relative_ms, previous_relative_ms_.value_or(0.0));
    if (step_ms > target_ms_ || quantile > target_ms_) {
      target_ms_ = std::max(step_ms, quantile);
    } else {
      target_ms_ =
          std::max(quantile, target_ms_ - config_.max_decrease_ms_per_s * std::max(0.0, elapsed_s));
    }
    target_ms_ = std::clamp(target_ms_, static_cast<double>(config_.min_delay.count()),
                            static_cast<double>(config_.max_delay.count()));
  }
  if (!last_arrival_ || arrival > *last_arrival_) last_arrival_ = arrival;
  return relative_ms;
}

std::optional<double> DelayManager::PlayoutDelayMs(int64_t timestamp, Clock::TimePoint now) const {
  if (clock_rate_hz_ == 0 || window_count_ == 0) return std::nullopt;
  const double min_raw_ms = window_[window_head_].raw_delay_ms;
  return ToMs(now - first_arrival_) -
         static_cast<double>(timestamp - first_timestamp_) * 1000.0 / clock_rate_hz_ - min_raw_ms;
}

double DelayManager::TargetRoundedToPackets(double packet_ms) const {
  if (!(packet_ms > 0.0)) return target_ms_;
  const double packets = std::max(1.0, std::ceil(target_ms_ / packet_ms - 1e-9));
  return packets * packet_ms;
}

bool DelayManager::ShouldStartPlayout(double buffered_ms, Clock::TimePoint now) const {
  if (!start_arrival_) return false;
  if (buffered_ms >= target_ms_) return true;
  return config_.max_start_wait.count() > 0 && now - *start_arrival_ >= config_.max_start_wait;
}

}  // namespace parley::playout
