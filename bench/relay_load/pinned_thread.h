// A thread pinned to one core that runs a body until told to stop, and whose CPU time
// can be read from outside while it runs: where the benchmark puts each forwarder.
//
// The body gets a stop flag to poll; StopAndJoin (or the destructor) sets it and joins.
// The constructor returns once the thread runs and has tried to pin itself (pinned()
// says whether the system agreed), so tid() and cpu() are valid from then on.
// Threading: construct, read and stop from one thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <thread>

#include "system_stats.h"

namespace parley::relay_load {

class PinnedThread {
 public:
  PinnedThread(int core, std::function<void(const std::atomic<bool>&)> body);
  ~PinnedThread();
  PinnedThread(const PinnedThread&) = delete;
  PinnedThread& operator=(const PinnedThread&) = delete;

  void StopAndJoin();
  bool pinned() const { return pinned_.load(std::memory_order_acquire); }
  pid_t tid() const { return tid_.load(std::memory_order_acquire); }
  ThreadCpu cpu() { return ReadThreadCpu(thread_.native_handle(), tid()); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> pinned_{false};
  std::atomic<pid_t> tid_{0};
  std::thread thread_;
};

}  // namespace parley::relay_load
