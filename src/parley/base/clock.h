// Time, injected. Every component that reacts to time (RTCP report scheduling, jitter
// buffers, quality judges, reconnect back-off) takes a Clock, so that tests run minutes
// of call in milliseconds, deterministically, with SimulatedClock.
//
// Two readings: a monotonic one for intervals and deadlines, and a wall-clock one for
// what goes on the wire as absolute time (RTCP NTP timestamps, epoch milliseconds).
#pragma once

#include <chrono>

namespace parley {

class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  // Monotonic time since an arbitrary epoch (the clock's start).
  using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;
  using WallTime = std::chrono::time_point<std::chrono::system_clock, Duration>;

  virtual ~Clock() = default;
  // Monotonic: never goes back. Use for intervals and deadlines.
  virtual TimePoint Now() const = 0;
  // Wall-clock time (Unix epoch). Use for absolute timestamps on the wire only.
  virtual WallTime WallNow() const = 0;
};

// The machine's clocks.
class SystemClock final : public Clock {
 public:
  TimePoint Now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
  }
  WallTime WallNow() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  }
  // One shared instance for code that has no clock injected.
  static SystemClock& Instance() {
    static SystemClock clock;
    return clock;
  }
};

// A clock that moves only when told to. Wall time is `wall_start` plus the monotonic
// time elapsed, so both readings advance together.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(WallTime wall_start = WallTime(std::chrono::seconds(1'700'000'000)))
      : wall_start_(wall_start) {}

  TimePoint Now() const override { return now_; }
  WallTime WallNow() const override { return wall_start_ + now_.time_since_epoch(); }

  // Precondition: d >= 0 (a monotonic clock never goes back).
  void Advance(Duration d) { now_ += d; }
  template <typename Rep, typename Period>
  void Advance(std::chrono::duration<Rep, Period> d) {
    Advance(std::chrono::duration_cast<Duration>(d));
  }

 private:
  TimePoint now_{};
  WallTime wall_start_;
};

}  // namespace parley
