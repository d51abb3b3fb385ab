// One-way latencies in 1 µs bins, for percentiles without storing every sample.
//
// Samples at or above max_us land in the last bin (their percentile then reads as
// max_us: "at least"); negative samples (clock read before the stamp was written cannot
// happen on one CLOCK_MONOTONIC, but a corrupt stamp could) land in bin 0.
// Allocates once at construction; Add never allocates. Threading: one thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace parley::relay_load {

class LatencyHistogram {
 public:
  // 200 ms: far above any queueing delay on loopback short of a collapse.
  static constexpr int64_t kDefaultMaxUs = 200'000;

  explicit LatencyHistogram(int64_t max_us = kDefaultMaxUs)
      : bins_(static_cast<size_t>(max_us) + 1, 0) {}

  void Add(int64_t latency_ns) {
    int64_t bin = latency_ns / 1000;
    if (bin < 0) bin = 0;
    if (bin >= static_cast<int64_t>(bins_.size())) bin = static_cast<int64_t>(bins_.size()) - 1;
    ++bins_[static_cast<size_t>(bin)];
    ++count_;
    if (latency_ns > max_ns_) max_ns_ = latency_ns;
  }

  void Clear() {
    std::fill(bins_.begin(), bins_.end(), 0);
    count_ = 0;
    max_ns_ = 0;
  }

  uint64_t count() const { return count_; }
  double max_us() const { return static_cast<double>(max_ns_) / 1000.0; }

  // The `quantile` (0..1) in µs, at the middle of its bin; 0 when empty.
  double PercentileUs(double quantile) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(quantile * static_cast<double>(count_ - 1));
    uint64_t seen = 0;
    for (size_t bin = 0; bin < bins_.size(); ++bin) {
      seen += bins_[bin];
      if (seen > rank) return static_cast<double>(bin) + 0.5;
    }
    return static_cast<double>(bins_.size() - 1);
  }

 private:
  std::vector<uint64_t> bins_;
  uint64_t count_ = 0;
  int64_t max_ns_ = 0;
};

}  // namespace parley::relay_load
