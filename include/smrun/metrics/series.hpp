#pragma once

// The values of a job kept for its plot: one series per metric and process, bounded in memory.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace smrun::metrics {

struct Point {
  double t = 0;  // seconds since the job started
  double v = 0;
};

struct Series {
  std::string metric;  // the panel it is drawn in
  std::string label;   // its name in the legend ("algo-1 rank 0")
  std::vector<Point> points;
};

// At most max_points of `points` (in time order), keeping each bucket's minimum and maximum so
// spikes survive: the points are cut into max_points / 2 buckets of consecutive points, and each
// bucket gives its lowest and its highest point, in time order (one point when they are the
// same). NaN values are dropped from buckets that have numbers. Unchanged when small enough.
std::vector<Point> downsample(const std::vector<Point>& points, std::size_t max_points);

class SeriesStore {
 public:
  // Above this many points a series is downsampled to half as many (min/max kept), so a job
  // printing a value per millisecond for weeks still plots in bounded memory.
  static constexpr std::size_t kMaxKept = 20000;

  // Fixes the panel order: declared metrics first, in declaration order, then the others in
  // order of their first value.
  void declare_metric(std::string_view metric);
  void add(std::string_view metric, std::string_view label, double t, double v);

  // Metrics in panel order, each with at least one value.
  std::vector<std::string> metrics() const;
  // Every series, in order of their first value.
  const std::vector<Series>& series() const { return m_series; }
  std::size_t values() const { return m_values; }

 private:
  std::vector<std::string> m_order;
  std::vector<Series> m_series;
  std::size_t m_values = 0;
};

}  // namespace smrun::metrics
