// Counters with one writer and any number of readers (a metrics scrape, a statistics
// call on another thread). The writer adds with a relaxed load and store instead of a
// read-modify-write: on the packet path that saves a locked instruction per count, and
// with a single writer no increment can be lost. Readers load with relaxed ordering and
// see a recent value; a counter never goes back.
//
// Only for counters written by one thread; with several writers use fetch_add.
#pragma once

#include <atomic>
#include <cstdint>

namespace parley {

// Adds `amount` to a counter only the calling thread writes.
inline void Bump(std::atomic<uint64_t>& counter, uint64_t amount = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
}

}  // namespace parley
