// A bounded single-producer, single-consumer queue of small trivially copyable values,
// lock-free: how the relay's control thread hands commands (add/remove a participant)
// to the media thread without a lock the media thread could wait on.
//
// A ring of a power-of-two number of slots and two counters that only grow: the
// producer writes a slot, then publishes it by storing `tail` (release); the consumer
// sees it by loading `tail` (acquire), reads the slot, then frees it by storing `head`
// (release), which the producer loads (acquire) before reusing the slot. Each counter
// has one writer, so no compare-and-swap is needed, and each sits on its own cache line
// so the two threads do not invalidate each other's line on every operation.
//
// Threading: TryPush from one thread (the producer) at a time, TryPop from one other
// thread (the consumer) at a time. Memory: allocated at construction only.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <type_traits>

namespace parley {

template <typename T>
class SpscQueue {
  static_assert(std::is_trivially_copyable_v<T>, "SpscQueue holds plain values");

 public:
  // Room for at least `capacity` values (> 0), rounded up to a power of two. Throws
  // std::invalid_argument for 0.
  explicit SpscQueue(size_t capacity)
      : capacity_(capacity == 0 ? 0 : std::bit_ceil(capacity)),
        slots_(capacity_ == 0 ? nullptr : std::make_unique<T[]>(capacity_)) {
    if (capacity == 0) throw std::invalid_argument("SpscQueue: capacity must be > 0");
  }
  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;

  // Producer: appends `value`; false when the queue is full (nothing appended).
  bool TryPush(const T& value) {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_.load(std::memory_order_acquire) == capacity_) return false;
    slots_[tail & (capacity_ - 1)] = value;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer: takes the oldest value into `out`; false when the queue is empty.
  bool TryPop(T& out) {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_.load(std::memory_order_acquire)) return false;
    out = slots_[head & (capacity_ - 1)];
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Values waiting; exact from either side when the other is idle, a snapshot otherwise.
  size_t size() const {
    // head first: it never passes the tail read after it, so the difference cannot wrap.
    const size_t head = head_.load(std::memory_order_acquire);
    return tail_.load(std::memory_order_acquire) - head;
  }
  size_t capacity() const { return capacity_; }

 private:
  static constexpr size_t kCacheLine = 64;

  const size_t capacity_;
  std::unique_ptr<T[]> slots_;
  alignas(kCacheLine) std::atomic<size_t> head_{0};  // next slot to read; consumer writes
  alignas(kCacheLine) std::atomic<size_t> tail_{0};  // next slot to write; producer writes
};

}  // namespace parley
