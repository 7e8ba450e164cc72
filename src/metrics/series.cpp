#include "smrun/metrics/series.hpp"

#include <algorithm>
#include <cmath>

namespace smrun::metrics {

std::vector<Point> downsample(const std::vector<Point>& points, std::size_t max_points) {
  if (points.size() <= max_points || max_points < 2) return points;
  const std::size_t buckets = max_points / 2;
  std::vector<Point> out;
  out.reserve(buckets * 2);
  for (std::size_t b = 0; b < buckets; ++b) {
    // Bucket b holds points [begin, end): even sizes, the remainder spread over them.
    const std::size_t begin = b * points.size() / buckets;
    const std::size_t end = (b + 1) * points.size() / buckets;
    if (begin == end) continue;
    std::size_t lo = end;
    std::size_t hi = end;
    for (std::size_t i = begin; i < end; ++i) {
      const double v = points[i].v;
      if (std::isnan(v)) continue;
      if (lo == end || v < points[lo].v) lo = i;
      if (hi == end || v > points[hi].v) hi = i;
    }
    if (lo == end) {  // only NaNs: one of them stands for the bucket
      out.push_back(points[begin]);
      continue;
    }
    out.push_back(points[std::min(lo, hi)]);
    if (lo != hi) out.push_back(points[std::max(lo, hi)]);
  }
  return out;
}

void SeriesStore::declare_metric(std::string_view metric) {
  if (std::find(m_order.begin(), m_order.end(), metric) == m_order.end())
    m_order.emplace_back(metric);
}

void SeriesStore::add(std::string_view metric, std::string_view label, double t, double v) {
  ++m_values;
  auto it = std::find_if(m_series.begin(), m_series.end(),
                         [&](const Series& s) { return s.metric == metric && s.label == label; });
  if (it == m_series.end()) {
    declare_metric(metric);
    m_series.push_back(Series{std::string(metric), std::string(label), {}});
    it = std::prev(m_series.end());
  }
  it->points.push_back(Point{t, v});
  if (it->points.size() > kMaxKept) it->points = downsample(it->points, kMaxKept / 2);
}

std::vector<std::string> SeriesStore::metrics() const {
  std::vector<std::string> out;
  for (const std::string& metric : m_order)
    if (std::any_of(m_series.begin(), m_series.end(),
                    [&](const Series& s) { return s.metric == metric; }))
      out.push_back(metric);
  return out;
}

}  // namespace smrun::metrics
