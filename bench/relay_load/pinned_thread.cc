#include "pinned_thread.h"

#include <utility>

namespace parley::relay_load {

PinnedThread::PinnedThread(int core, std::function<void(const std::atomic<bool>&)> body)
    : thread_([this, core, body = std::move(body)] {
        pinned_.store(PinCallingThread(core), std::memory_order_release);
        tid_.store(CurrentTid(), std::memory_order_release);
        tid_.notify_one();
        body(stop_);
      }) {
  tid_.wait(0, std::memory_order_acquire);
}

PinnedThread::~PinnedThread() { StopAndJoin(); }

void PinnedThread::StopAndJoin() {
  stop_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
}

}  // namespace parley::relay_load
