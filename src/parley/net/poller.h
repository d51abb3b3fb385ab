// Waiting for datagrams: blocks until one of a few sockets has something to read or a
// timeout passes. A thin layer over ppoll(2), for loops that serve a handful of sockets
// and also have deadlines of their own (a delay queue, a report timer).
//
// The timeout has nanosecond resolution (ppoll), so a loop can wake for a deadline that is
// not a whole millisecond away; the kernel's timer slack (50 us by default) still applies.
// A signal delivered to the waiting thread ends the wait early (Wait returns 0), so a
// loop that checks a flag set by its signal handler reacts within one wait.
//
// Threading: one thread at a time. Memory: Add() may allocate; Wait() never does.
#pragma once

#include <poll.h>

#include <chrono>
#include <cstddef>
#include <vector>

#include "parley/base/result.h"

namespace parley::net {

class Poller {
 public:
  // Watches `fd` for readability (and errors, which a read then reports). Returns the
  // index to pass to readable(). Throws std::invalid_argument when fd < 0 (API misuse).
  size_t Add(int fd);

  // Blocks until at least one watched descriptor is readable or `timeout` passes (<= 0:
  // only looks). Returns how many are readable: 0 on timeout or when a signal interrupted
  // the wait. A watched descriptor that was closed counts as readable (its read then
  // fails). Error: the system refused the wait (out of memory).
  [[nodiscard]] Result<int> Wait(std::chrono::nanoseconds timeout);
  // The same, failing with -errno instead of a message (nothing allocates).
  [[nodiscard]] int TryWait(std::chrono::nanoseconds timeout);

  // Whether descriptor `index` was readable (or in error) at the last Wait.
  bool readable(size_t index) const;

  size_t size() const { return fds_.size(); }

 private:
  std::vector<pollfd> fds_;
};

}  // namespace parley::net
