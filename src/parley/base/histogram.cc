#include "parley/base/histogram.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace parley {
namespace {

template <typename T>
void Add(std::atomic<T>& cell, T amount) {
  cell.store(cell.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
}

}  // namespace

Histogram::Histogram(std::initializer_list<double> upper_bounds)
    : bounds_(upper_bounds),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  if (bounds_.empty() || !std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end()) {
    throw std::invalid_argument("Histogram: bounds must be non-empty and strictly ascending");
  }
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  size_t bucket = 0;
  while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
  Add(buckets_[bucket], uint64_t{1});
  Add(sum_scaled_, static_cast<int64_t>(std::llround(value * kSumScale)));
}

HistogramSnapshot Histogram::Snapshot() const {
  HistogramSnapshot out;
  out.upper_bounds = bounds_;
  out.cumulative.reserve(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out.cumulative.push_back(running);
  }
  out.sum = static_cast<double>(sum_scaled_.load(std::memory_order_relaxed)) / kSumScale;
  out.count = running;  // the +Inf bucket: count and buckets always agree
  return out;
}

}  // namespace parley
