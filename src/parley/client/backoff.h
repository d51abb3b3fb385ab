// Exponential back-off with jitter, for reconnecting to a relay that went away: the n-th
// retry waits about initial x multiplier^(n-1), capped at `max`, then stays there.
//
//   attempt   1      2      3     4     5     6     7 ...
//   ceiling   250ms  500ms  1s    2s    4s    8s    8s ...
//   delay     uniform in [ceiling x (1 - jitter), ceiling]
//
// Why jitter: when a relay restarts, every client loses it at the same instant; without
// jitter they would all come back at the same instants too, and the relay would take each
// wave of joins at once. Drawing each delay from the upper part of its step spreads them
// while keeping the growth, and never waits longer than the ceiling.
//
// Deterministic for a given seed (base/random.h), so tests see fixed delays.
// Threading: one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>

#include "parley/base/random.h"

namespace parley::client {

struct BackoffConfig {
  std::chrono::milliseconds initial{250};  // ceiling of the first delay; > 0
  std::chrono::milliseconds max{8000};     // ceiling of every delay; >= initial
  double multiplier = 2.0;                 // growth per attempt; >= 1
  // Fraction of each ceiling that is random: 0 gives exactly the ceilings, 0.5 draws in
  // the upper half of each step. 0..1.
  double jitter = 0.5;
  uint64_t seed = 1;  // of the jitter's generator
};

class Backoff {
 public:
  using Config = BackoffConfig;

  // Throws std::invalid_argument for a Config outside its documented ranges.
  explicit Backoff(const Config& config = {});

  // The delay before the next attempt; advances to the next step.
  std::chrono::milliseconds NextDelay();
  // After a success: the next delay starts from `initial` again.
  void Reset() { attempts_ = 0; }
  // Delays handed out since construction or the last Reset().
  int attempts() const { return attempts_; }

 private:
  // Passed by argument.
  const Config config_;
  // Others.
  Random random_;
  int attempts_ = 0;
};

}  // namespace parley::client
