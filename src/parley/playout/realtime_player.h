// The real-time player: pulls a 10 ms block from a PlayoutEngine at every
// tick of the media clock, hands it to an AudioSink, and turns the engine's concealment
// into loss events for a PlayoutListener.
//
//   network thread ── InsertPacket ──┐ (mutex)
//                                    ▼
//   player thread ── Waiter::WaitUntil(deadline) ─> Pull10ms ─> AudioSink::OnAudio
//                                                      └──────> PlayoutListener (loss)
//
// Timing: deadlines are a 10 ms grid on the injected Clock, anchored at the first block
// (deadline_n = anchor + n x 10 ms): the grid never accumulates the waiter's wake-up
// error. The Waiter blocks until a deadline (SteadyWaiter: a condition variable on
// steady_clock, to be used with SystemClock; SimulatedWaiter: advances a SimulatedClock,
// no sleeping).
//
// Catch-up policy: a wake-up less than one block late is jitter: the block is pulled and
// the grid kept. A wake-up `k` >= 1 whole blocks late (the thread was stalled) does not
// replay the missed blocks in a burst, nor pull and throw away audio: the k missed
// deadlines are skipped (deadlines_missed() += k, PlayoutListener::OnDeadlinesMissed),
// the grid moves k blocks on and one block is pulled. The audio that arrived meanwhile
// stays in the engine, whose buffer is then k x 10 ms above target; the engine drains it
// by acceleration (at most its stretch budget, 10 % of the played time), so the sink sees
// one block per deadline and nothing is dropped. (A sink with its own device clock, which
// consumed silence during the stall, is in the same state.)
//
// Loss events: a run of concealed blocks (Operation::kExpand) is one loss. It starts at
// the first concealed block (OnLossStarted with that block's media timestamp) and ends at
// the next block that is not concealment (OnLossEnded with the concealed duration, from
// the engine's concealedSamples: merge continuation included, so a 100 ms hole reports
// about 100 ms). Silence before the start and DTX comfort noise are not loss.
//
// Threading: InsertPacket may be called from any thread, concurrently with the player
// thread; the engine is guarded by one mutex held for one insert or one 10 ms pull (never
// while waiting, never while calling the sink or the listener). Start()/Stop()/RunFor()/
// Step() and the accessors are for one controlling thread; RunFor()/Step() only while the
// thread is not running. Sink and listener are called on the pulling thread. Not copyable.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "parley/base/clock.h"
#include "parley/base/result.h"
#include "parley/playout/playout_engine.h"

namespace parley::playout {

// Receives the played audio: one block of block_frames() x channels interleaved samples
// per deadline, valid during the call only. Called on the pulling thread; must not block
// for long (the next deadline is 10 ms away).
class AudioSink {
 public:
  virtual ~AudioSink() = default;
  virtual void OnAudio(std::span<const int16_t> block, const PlayoutEngine::BlockInfo& info) = 0;
};

// Events of the player, on the pulling thread.
class PlayoutListener {
 public:
  virtual ~PlayoutListener() = default;
  // Concealment began with the block at `media_timestamp` (unwrapped RTP ticks).
  virtual void OnLossStarted(int64_t media_timestamp) = 0;
  // The concealment that began with the last OnLossStarted ended after `duration` of
  // concealed audio (microsecond resolution).
  virtual void OnLossEnded(std::chrono::microseconds duration) = 0;
  // The pulling thread woke `blocks` x 10 ms late; those deadlines were skipped.
  virtual void OnDeadlinesMissed(int64_t /*blocks*/) {}
};

// Blocks the pulling thread until a deadline of the player's Clock.
class Waiter {
 public:
  virtual ~Waiter() = default;
  // Returns once `deadline` has passed, or early after Wake(). May return early
  // spuriously; the player checks the clock.
  virtual void WaitUntil(Clock::TimePoint deadline) = 0;
  // Makes the current and every later WaitUntil() return at once, until Rearm().
  virtual void Wake() = 0;
  virtual void Rearm() = 0;
};

// Sleeps on std::chrono::steady_clock: for a player driven by SystemClock (whose Now() is
// steady_clock's).
class SteadyWaiter final : public Waiter {
 public:
  void WaitUntil(Clock::TimePoint deadline) override;
  void Wake() override;
  void Rearm() override;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool woken_ = false;
};

// For tests and offline runs: "waiting" advances a SimulatedClock to the deadline.
class SimulatedWaiter final : public Waiter {
 public:
  explicit SimulatedWaiter(SimulatedClock& clock) : clock_(clock) {}
  void WaitUntil(Clock::TimePoint deadline) override {
    if (deadline > clock_.Now()) clock_.Advance(deadline - clock_.Now());
  }
  void Wake() override {}
  void Rearm() override {}

 private:
  SimulatedClock& clock_;
};

class RealtimePlayer {
 public:
  static constexpr std::chrono::milliseconds kBlock{10};

  struct Counters {
    uint64_t blocks = 0;            // blocks pulled and delivered
    uint64_t deadlines_missed = 0;  // skipped by the catch-up policy
    uint64_t stalls = 0;            // wake-ups at least one block late
    uint64_t losses = 0;            // loss events started
  };

  // `clock`, `waiter`, `sink` and `listener` (may be null) must outlive the player.
  // Throws std::invalid_argument on a bad engine config (PlayoutEngine's rules).
  RealtimePlayer(const Clock& clock, Waiter& waiter, PlayoutEngineConfig config, AudioSink& sink,
                 PlayoutListener* listener = nullptr);
  ~RealtimePlayer();  // Stop()s
  RealtimePlayer(const RealtimePlayer&) = delete;
  RealtimePlayer& operator=(const RealtimePlayer&) = delete;

  // Any thread. Files a packet that arrived now (the engine's rules and errors).
  [[nodiscard]] Status InsertPacket(const PlayoutEngine::Packet& packet);

  // Starts the pulling thread; the first block is due at once. No-op when running.
  void Start();
  // Stops and joins the thread (returns after at most the block in progress). No-op when
  // stopped. The grid is kept: a later Start() or RunFor() continues it.
  void Stop();
  bool running() const { return thread_.joinable(); }

  // Synchronous mode (no thread; not while running): serves every deadline up to
  // clock.Now() + duration through the waiter, then waits until that time. With a
  // SimulatedWaiter, a deterministic run of `duration` of media clock.
  void RunFor(Clock::Duration duration);
  // Synchronous: serves the next deadline (waiting for it). Returns its block's info.
  PlayoutEngine::BlockInfo Step();

  // Any thread (takes the engine lock): a copy of the engine's statistics.
  PlayoutStatistics stats();
  // Any thread: runs `f(engine)` under the engine lock (for inspection in tests/tools).
  template <typename F>
  auto WithEngine(F&& f) {
    std::lock_guard lock(engine_mutex_);
    return f(engine_);
  }
  // Any thread (takes the engine lock).
  Counters counters() const;
  int block_frames() const { return engine_.block_frames(); }

 private:
  void Loop();
  // Waits for the next deadline (unless stopping), applies the catch-up policy, pulls
  // and delivers one block. Nullopt when stopped while waiting.
  std::optional<PlayoutEngine::BlockInfo> ServeNextDeadline();
  PlayoutEngine::BlockInfo PullAndDeliver();

  // Passed by argument.
  const Clock& clock_;
  Waiter& waiter_;
  AudioSink& sink_;
  PlayoutListener* const listener_;
  const int output_rate_hz_;
  const int channels_;  // of the interleaved blocks
  // Allocated by this.
  mutable std::mutex engine_mutex_;  // guards engine_ and counters_
  PlayoutEngine engine_;
  std::vector<int16_t> block_;
  std::thread thread_;
  // Others (pulling thread's, or the controlling thread's when not running).
  std::atomic<bool> stop_{false};
  std::optional<Clock::TimePoint> next_deadline_;
  Counters counters_;
  bool in_loss_ = false;
  uint64_t concealed_at_loss_start_ = 0;  // engine concealedSamples before the loss
  uint64_t concealed_before_block_ = 0;
};

}  // namespace parley::playout
