// A Prometheus-style histogram with fixed bucket bounds, written by one thread and read
// by any: the relay's per-link loss, jitter and round-trip time distributions.
//
// Observe() costs a short linear search over the bounds and two relaxed load+store
// pairs (one writer, so no locked read-modify-write), and never allocates. Snapshot()
// reads every cell with relaxed loads: each value is exact, the set is not one instant
// (a count may include an observation whose sum is not in yet).
//
// Threading: Observe from one thread at a time; Snapshot from any.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

namespace parley {

struct HistogramSnapshot {
  std::vector<double> upper_bounds;  // ascending; +Inf is implicit after the last
  std::vector<uint64_t> cumulative;  // per bound, then +Inf: observations <= bound
  double sum = 0;
  uint64_t count = 0;  // equal to cumulative.back()
};

class Histogram {
 public:
  // `upper_bounds` ascending and non-empty (API misuse otherwise: std::invalid_argument).
  Histogram(std::initializer_list<double> upper_bounds);

  // Counts `value` in the first bucket whose bound is >= value (+Inf when none is).
  // NaN is ignored.
  void Observe(double value);

  HistogramSnapshot Snapshot() const;

 private:
  // The sum is kept in millionths so that it is an integer cell like the others.
  static constexpr double kSumScale = 1e6;

  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<int64_t> sum_scaled_{0};
};

}  // namespace parley
