#include "parley/playout/realtime_player.h"

#include <utility>

namespace parley::playout {

void SteadyWaiter::WaitUntil(Clock::TimePoint deadline) {
  std::unique_lock lock(mutex_);
  cv_.wait_until(lock, deadline, [this] { return woken_; });
}

void SteadyWaiter::Wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

void SteadyWaiter::Rearm() {
  std::lock_guard lock(mutex_);
  woken_ = false;
}

RealtimePlayer::RealtimePlayer(const Clock& clock, Waiter& waiter, PlayoutEngineConfig config,
                               AudioSink& sink, PlayoutListener* listener)
    : clock_(clock),
      waiter_(waiter),
      sink_(sink),
      listener_(listener),
      output_rate_hz_(config.output_rate_hz),
      channels_(config.channels),
      engine_(clock, std::move(config)),
      block_(static_cast<size_t>(engine_.block_frames()) * static_cast<size_t>(channels_)) {}

RealtimePlayer::~RealtimePlayer() { Stop(); }

Status RealtimePlayer::InsertPacket(const PlayoutEngine::Packet& packet) {
  std::lock_guard lock(engine_mutex_);
  return engine_.InsertPacket(packet);
}

void RealtimePlayer::Start() {
  if (thread_.joinable()) return;
  stop_.store(false);
  waiter_.Rearm();
  thread_ = std::thread([this] { Loop(); });
}

void RealtimePlayer::Stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  waiter_.Wake();
  thread_.join();
  // Ready for RunFor()/Step() or another Start().
  stop_.store(false);
  waiter_.Rearm();
}

void RealtimePlayer::Loop() {
  while (!stop_.load()) {
    if (!ServeNextDeadline()) break;
  }
}

void RealtimePlayer::RunFor(Clock::Duration duration) {
  const Clock::TimePoint end = clock_.Now() + duration;
  if (!next_deadline_) next_deadline_ = clock_.Now();
  while (*next_deadline_ <= end) ServeNextDeadline();
  waiter_.WaitUntil(end);
}

PlayoutEngine::BlockInfo RealtimePlayer::Step() {
  std::optional<PlayoutEngine::BlockInfo> info;
  while (!info) info = ServeNextDeadline();
  return *info;
}

std::optional<PlayoutEngine::BlockInfo> RealtimePlayer::ServeNextDeadline() {
  if (!next_deadline_) next_deadline_ = clock_.Now();
  Clock::TimePoint now = clock_.Now();
  while (now < *next_deadline_) {
    if (stop_.load()) return std::nullopt;
    waiter_.WaitUntil(*next_deadline_);
    now = clock_.Now();
  }
  // Catch-up: whole blocks of lateness are skipped, never replayed in a burst.
  const int64_t missed = (now - *next_deadline_) / kBlock;
  if (missed > 0) {
    *next_deadline_ += missed * kBlock;
    {
      std::lock_guard lock(engine_mutex_);
      counters_.deadlines_missed += static_cast<uint64_t>(missed);
      ++counters_.stalls;
    }
    if (listener_ != nullptr) listener_->OnDeadlinesMissed(missed);
  }
  *next_deadline_ += kBlock;
  return PullAndDeliver();
}

PlayoutEngine::BlockInfo RealtimePlayer::PullAndDeliver() {
  PlayoutEngine::BlockInfo info;
  uint64_t concealed = 0;
  {
    std::lock_guard lock(engine_mutex_);
    // Cannot fail: block_ has the engine's block size.
    info = *engine_.Pull10ms(block_);
    concealed = engine_.stats().concealedSamples;
    ++counters_.blocks;
    if (!in_loss_ && info.operation == Operation::kExpand) ++counters_.losses;
  }
  sink_.OnAudio(block_, info);

  const bool loss = info.operation == Operation::kExpand;
  if (loss && !in_loss_) {
    in_loss_ = true;
    concealed_at_loss_start_ = concealed_before_block_;
    if (listener_ != nullptr) listener_->OnLossStarted(info.media_timestamp);
  } else if (!loss && in_loss_) {
    in_loss_ = false;
    const uint64_t samples = concealed - concealed_at_loss_start_;
    const auto duration = std::chrono::microseconds(
        static_cast<int64_t>(samples * 1'000'000 / static_cast<uint64_t>(output_rate_hz_)));
    if (listener_ != nullptr) listener_->OnLossEnded(duration);
  }
  concealed_before_block_ = concealed;
  return info;
}

PlayoutStatistics RealtimePlayer::stats() {
  std::lock_guard lock(engine_mutex_);
  return engine_.stats();
}

RealtimePlayer::Counters RealtimePlayer::counters() const {
  std::lock_guard lock(engine_mutex_);
  return counters_;
}

}  // namespace parley::playout
