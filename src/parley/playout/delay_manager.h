// The target delay of the playout engine: how much audio the jitter buffer should hold so
// that late packets still arrive in time, learned from the packets' arrival times.
//
// For each packet (arrival time a, timestamp t in ticks of a clock of rate r):
//
//   raw delay       D = a - t / r                     (transit time + an unknown constant:
//                                                      the clock offset cancels below)
//   relative delay  d = D - min{ D' over packets with timestamps in the last `window` }
//
// d is how much later than the fastest recent packet this one came: the jitter the buffer
// must absorb. Taking the minimum over a sliding window (2 s of media time), rather than
// since the first packet, keeps a drifting sender clock from making d creep: at ±200 ppm
// the drift adds at most 200e-6 x 2 s = 0.4 ms to d, however long the call.
//
// The d values feed a histogram (buckets of `bucket` ms) with exponential forgetting: each
// update scales the old mass by f and adds 1 - f at the new value, f = forget_factor per
// 20 ms of media (so the memory is a time, whatever the packet duration). At start-up the
// factor is smaller (NetEq's start forget weight w: f_n = min(f, 1 - w / (n + 1)) for the
// n-th update), so the first packets are averaged evenly instead of being swamped by an
// empty history. The histogram's `quantile` (0.98) is the steady-state target.
//
// The target moves asymmetrically:
//   up, at once:  two packets in a row whose d exceed the target raise it to the
//                 smaller d (a delay spike, a route change: not after the histogram has
//                 seen many); one alone is the tail the quantile leaves out, and chasing
//                 it would stretch speech back and forth;
//                 a histogram quantile above the target raises it too;
//   down, slowly: toward the quantile at most max_decrease_ms_per_s (per second of arrival
//                 time), so after a spike the buffer drains gradually (the engine's
//                 accelerate can follow) and a burst of spikes does not find it empty.
// It is always clamped to [min_delay, max_delay].
//
// Start of playout: ShouldStartPlayout() is true once the buffered audio reaches the
// target, or once max_start_wait has passed since the first packet arrived. With the
// defaults (initial target 60 ms, max_start_wait 70 ms) and an engine that asks every
// 10 ms, the first audio comes at most 70 + 10 = 80 ms after the first packet.
//
// Fixed mode (Config::Fixed): the target stays at start_frames x frame, playout starts
// when that much audio is buffered (no time-out) and the buffer holds at most max_frames
// x frame: a simple WebSocket client (3 and 60 frames of 20 ms).
//
// Threading: not thread-safe; one instance per stream. Not copyable.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "parley/base/clock.h"

namespace parley::playout {

// kAdaptive: the target follows the measured delays; kFixed: it stays put (a simple client's fixed
// buffer).
enum class DelayMode { kAdaptive, kFixed };

struct DelayManagerConfig {
  DelayMode mode = DelayMode::kAdaptive;
  // Quantile of the relative delays the target covers. 0.98: one packet in fifty may
  // arrive after its turn (and be concealed). NetEq uses 0.95 to 0.97, but a listener
  // (and a perceptual score) hears a concealed packet in speech more than 10-20 ms more
  // delay; 0.99 scored a little higher still but, with a 4 s memory, held a delay spike's
  // target for 10-14 s (docs/playout.md has the figures). In (0, 1).
  double quantile = 0.98;
  // Histogram forgetting per 20 ms of media. 0.995: a time constant of 4 s (about 200
  // packets of memory: four or more in the 2 % tail), between NetEq's legacy 0.9993
  // (28 s: slow to notice that jitter fell) and its current 0.983 (1.2 s, with a 0.97
  // quantile: noisy). Spikes do not wait for the histogram (see "up, at once"), and with
  // this memory the target is back at its baseline within 8 s of a 300 ms one.
  // In (0, 1).
  double forget_factor = 0.995;
  // Start-up forgetting (NetEq's start_forget_weight): the n-th update forgets with
  // min(forget_factor, 1 - w / (n + 1)). 2 as in NetEq. >= 0; 0 disables it.
  double start_forget_weight = 2.0;
  // Histogram resolution. 5 ms: finer than the 10 ms blocks the engine plays. > 0.
  std::chrono::milliseconds bucket{5};
  // Bounds of the target. 0..1000 ms: 1 s is where a conversation stops being one.
  // 0 <= min_delay <= max_delay.
  std::chrono::milliseconds min_delay{0};
  std::chrono::milliseconds max_delay{1000};
  // Target before any packet arrived; it then falls toward the measured quantile at the
  // limited rate, so a call starts cautious. 60 ms (three 20 ms packets, as a simple client
  // starts). In [min_delay, max_delay].
  std::chrono::milliseconds initial_target{60};
  // Fastest fall of the target, in ms per second of arrival time. 40 ms/s: 4 % of real
  // time, well within what time-scale modification removes inaudibly, so the buffer can
  // follow; a 300 ms spike decays to baseline in about 7 s. > 0.
  double max_decrease_ms_per_s = 40.0;
  // Media time over which the minimum raw delay is taken (clock offset and drift
  // cancel). 2 s as in NetEq: longer than delay spikes, short enough that drift (0.4 ms
  // at 200 ppm) and a route change are forgotten. > 0.
  std::chrono::milliseconds window{2000};
  // The smallest timestamp step expected (for sizing the window's storage: window /
  // min_packet entries). 2.5 ms: Opus's shortest frame. > 0.
  std::chrono::microseconds min_packet{2500};
  // Bound for the packet buffer (PacketBuffer::Config::max_buffer). >= max_delay.
  std::chrono::milliseconds max_buffer{2000};
  // Playout starts at the latest this long after the first packet arrived, whatever is
  // buffered; 0 = only when the target is buffered. 70 ms (80 ms first audio with a
  // 10 ms pull). >= 0.
  std::chrono::milliseconds max_start_wait{70};

  // The fixed buffer of a simple WebSocket client: target = start threshold = start_frames x frame,
  // at most max_frames x frame buffered, no start time-out. Throws std::invalid_argument unless
  // frame > 0 and 1 <= start_frames <= max_frames.
  static DelayManagerConfig Fixed(std::chrono::milliseconds frame = std::chrono::milliseconds(20),
                                  int start_frames = 3, int max_frames = 60);
};

class DelayManager {
 public:
  using Mode = DelayMode;
  using Config = DelayManagerConfig;

  // Throws std::invalid_argument when `config` breaks a rule stated above (API misuse).
  explicit DelayManager(Config config = {});
  DelayManager(const DelayManager&) = delete;
  DelayManager& operator=(const DelayManager&) = delete;

  // One packet arrived at `arrival` carrying `timestamp` (unwrapped ticks of a
  // `clock_rate_hz` clock). Call for every packet the buffer accepted, reordered ones
  // included (a reordered packet is a delayed one). Returns its relative delay in ms
  // (>= 0). A change of clock rate restarts the measurement (not the target). Throws
  // std::invalid_argument when clock_rate_hz <= 0. O(buckets), no allocation.
  double Update(int64_t timestamp, int clock_rate_hz, Clock::TimePoint arrival);

  // The target delay in ms, in [min_delay, max_delay]: the audio the buffer should hold
  // beyond what the fastest packets need.
  double target_ms() const { return target_ms_; }
  // target_ms() rounded up to a whole number of packets of `packet_ms` (> 0) ms, at least
  // one packet.
  double TargetRoundedToPackets(double packet_ms) const;
  // The histogram's quantile in ms (bucket upper edge), before the up/down rules and the
  // clamps; nullopt before the first packet.
  std::optional<double> quantile_ms() const;
  // How late the audio at `timestamp` (unwrapped ticks of the measured clock) plays if it
  // starts at `now`, in the units of the target: `now` minus the arrival of a packet
  // carrying it that had come as fast as the fastest in the window. A packet whose
  // relative delay is below this is on time. Unlike the buffer level, which swings with
  // every arrival, it moves only when the playout does (stretching, concealment that
  // waits for a late packet) or the fastest delay changes (clock drift, a new route), so
  // the engine can steer it to the target without chasing the jitter. nullopt before the
  // first packet (or after a change of clock rate, until the next one).
  std::optional<double> PlayoutDelayMs(int64_t timestamp, Clock::TimePoint now) const;
  // Relative delay of the last packet given to Update(), in ms; nullopt before it.
  std::optional<double> last_relative_delay_ms() const { return last_relative_delay_ms_; }

  // Whether to start (or restart after a flush) playing: true once `buffered_ms` of audio
  // reaches the target (the start threshold), or when max_start_wait (if > 0) has passed
  // since the first packet arrived. `now` is the caller's clock. False before any packet.
  bool ShouldStartPlayout(double buffered_ms, Clock::TimePoint now) const;
  // The buffered audio at which playout starts, in ms (the target).
  double start_threshold_ms() const { return target_ms_; }
  // The packet buffer's bound (Config::max_buffer).
  std::chrono::milliseconds max_buffer() const { return config_.max_buffer; }
  Mode mode() const { return config_.mode; }
  const Config& config() const { return config_; }

  // Forgets the measurements, the first arrival and the target (back to initial_target).
  void Reset();

 private:
  struct WindowEntry {
    int64_t timestamp = 0;
    double raw_delay_ms = 0;
  };

  void RestartMeasurement(int clock_rate_hz);
  void PushWindow(int64_t timestamp, double raw_delay_ms);
  void AddToHistogram(double relative_delay_ms, double media_step_ms);
  double HistogramQuantileMs() const;

  // Passed by argument.
  const Config config_;
  // Allocated by this, sized at construction.
  std::vector<double> histogram_;    // mass per bucket, sums to 1 after the first update
  std::vector<WindowEntry> window_;  // ring: monotonic deque of the sliding minimum
  // Others.
  size_t window_head_ = 0;
  size_t window_count_ = 0;
  int clock_rate_hz_ = 0;                          // 0: nothing measured yet
  int64_t first_timestamp_ = 0;                    // ticks; reference of raw delays
  Clock::TimePoint first_arrival_{};               // reference of raw delays
  std::optional<Clock::TimePoint> start_arrival_;  // first packet since Reset()
  std::optional<int64_t> newest_timestamp_;        // ticks
  std::optional<Clock::TimePoint> last_arrival_;
  double media_step_ms_ = 20.0;  // last in-order timestamp step, for the forget factor
  double step_forget_ = 0.0;     // forget_factor ^ (media_step_ms_ / 20), cached
  double step_forget_for_ms_ = -1.0;
  uint64_t updates_ = 0;  // since the measurement restarted
  double target_ms_ = 0;
  std::optional<double> last_relative_delay_ms_;
  std::optional<double> previous_relative_ms_;  // the one before it
};

}  // namespace parley::playout
