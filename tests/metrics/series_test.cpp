// The in-memory series behind the plot: panel order, min/max-preserving downsampling.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "smrun/metrics/series.hpp"

namespace smrun::metrics {
namespace {

std::vector<Point> ramp(std::size_t n) {
  std::vector<Point> points;
  for (std::size_t i = 0; i < n; ++i)
    points.push_back(Point{static_cast<double>(i), std::sin(static_cast<double>(i) / 10)});
  return points;
}

TEST(Downsample, SmallSeriesAreUnchanged) {
  const auto points = ramp(100);
  const auto out = downsample(points, 100);
  ASSERT_EQ(out.size(), 100u);
  EXPECT_EQ(out.back().t, 99);
}

TEST(Downsample, KeepsEachBucketsExtremesInTimeOrder) {
  std::vector<Point> points = ramp(100000);
  points[54321].v = 50;   // a spike
  points[12345].v = -50;  // a dip
  const auto out = downsample(points, 2000);
  EXPECT_LE(out.size(), 2000u);
  EXPECT_GE(out.size(), 1000u);
  EXPECT_TRUE(std::is_sorted(out.begin(), out.end(),
                             [](const Point& a, const Point& b) { return a.t < b.t; }));
  const auto [lo, hi] = std::minmax_element(
      out.begin(), out.end(), [](const Point& a, const Point& b) { return a.v < b.v; });
  EXPECT_EQ(hi->v, 50);
  EXPECT_EQ(hi->t, 54321);
  EXPECT_EQ(lo->v, -50);
  EXPECT_EQ(lo->t, 12345);
  // The first bucket (points 0-99 of sin(t/10)) gives its maximum (t=16), then its minimum.
  EXPECT_EQ(out[0].t, 16);
  EXPECT_EQ(out[1].t, 47);
}

TEST(Downsample, ExactBound) {
  for (std::size_t n : {2001u, 4000u, 4001u, 12345u}) {
    const auto out = downsample(ramp(n), 2000);
    EXPECT_LE(out.size(), 2000u) << n;
  }
}

TEST(SeriesStore, PanelOrderIsDeclaredThenFirstSeen) {
  SeriesStore store;
  store.declare_metric("train:loss");
  store.declare_metric("cpu_percent");
  store.add("cpu_percent", "algo-1 rank 0", 0, 5);
  store.add("other", "algo-1 rank 0", 1, 1);
  store.add("train:loss", "algo-1 rank 0", 2, 0.5);
  store.add("train:loss", "algo-1 rank 1", 2, 0.6);
  store.add("train:loss", "algo-1 rank 0", 3, 0.25);
  EXPECT_EQ(store.metrics(), (std::vector<std::string>{"train:loss", "cpu_percent", "other"}));
  ASSERT_EQ(store.series().size(), 4u);
  EXPECT_EQ(store.series()[2].points.size(), 2u);
  EXPECT_EQ(store.values(), 5u);
}

TEST(SeriesStore, LongSeriesStayBounded) {
  SeriesStore store;
  for (int i = 0; i < 100000; ++i) store.add("m", "l", i, i % 7);
  ASSERT_EQ(store.series().size(), 1u);
  EXPECT_LE(store.series()[0].points.size(), SeriesStore::kMaxKept);
  EXPECT_EQ(store.values(), 100000u);
}

}  // namespace
}  // namespace smrun::metrics
