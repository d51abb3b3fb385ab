#include "parley/base/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <thread>

namespace parley {
namespace {

TEST(HistogramTest, CountsEachValueInTheFirstBucketThatHoldsIt) {
  Histogram h{0.01, 0.05, 0.1};
  for (double v : {0.0, 0.01, 0.011, 0.05, 0.2, 7.0}) h.Observe(v);
  h.Observe(std::nan(""));  // ignored
  const HistogramSnapshot s = h.Snapshot();
  EXPECT_EQ(s.upper_bounds, (std::vector<double>{0.01, 0.05, 0.1}));
  // <= 0.01: 0 and 0.01 (a bound belongs to its bucket); <= 0.05: + 0.011, 0.05; <= 0.1:
  // nothing more; +Inf: + 0.2, 7.
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 4, 4, 6}));
  EXPECT_EQ(s.count, 6u);
  EXPECT_NEAR(s.sum, 7.271, 1e-9);
}

TEST(HistogramTest, NegativeValuesGoToTheFirstBucketAndLowerTheSum) {
  Histogram h{0.0, 1.0};
  h.Observe(-0.5);
  const HistogramSnapshot s = h.Snapshot();
  EXPECT_EQ(s.cumulative.front(), 1u);
  EXPECT_NEAR(s.sum, -0.5, 1e-9);
}

TEST(HistogramTest, ReadersSeeOnlyWholeCountsWhileTheWriterObserves) {
  Histogram h{1.0};
  constexpr int kObservations = 200000;
  std::thread writer([&] {
    for (int i = 0; i < kObservations; ++i) h.Observe(i % 2 == 0 ? 0.5 : 2.0);
  });
  uint64_t last = 0;
  for (int i = 0; i < 1000; ++i) {
    const HistogramSnapshot s = h.Snapshot();
    EXPECT_GE(s.count, last);  // one writer: counts only grow
    EXPECT_LE(s.cumulative[0], s.cumulative[1]);
    last = s.count;
  }
  writer.join();
  EXPECT_EQ(h.Snapshot().count, static_cast<uint64_t>(kObservations));
  EXPECT_EQ(h.Snapshot().cumulative[0], static_cast<uint64_t>(kObservations / 2));
}

TEST(HistogramTest, RefusesBoundsThatAreNotStrictlyAscending) {
  EXPECT_THROW((Histogram{}), std::invalid_argument);
  EXPECT_THROW((Histogram{0.1, 0.1}), std::invalid_argument);
  EXPECT_THROW((Histogram{0.2, 0.1}), std::invalid_argument);
}

}  // namespace
}  // namespace parley
