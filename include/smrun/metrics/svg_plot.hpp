#pragma once

// output/data/metrics.svg: one panel per metric, one line per series (process), with axes, tick
// labels, a title and a legend. Plain SVG 1.1 built as text: no plotting library, no script, no
// external reference (fonts are the viewer's sans-serif).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "smrun/metrics/series.hpp"

namespace smrun::metrics {

struct PlotOptions {
  std::string title = "smrun metrics";
  std::size_t max_points = 2000;  // per series (see downsample)
  // Panel order; metrics of the series not listed here follow in order of appearance.
  std::vector<std::string> metrics;
};

// The SVG document. Every text from the job (metric names, labels, the title) is XML-escaped.
std::string render_svg(const std::vector<Series>& series, const PlotOptions& options);

// `text` with &, <, >, " and ' escaped, and bytes XML 1.0 does not allow (control characters,
// invalid UTF-8) replaced by U+FFFD.
std::string xml_escape(std::string_view text);

// Up to about `count` round tick values covering [lo, hi] (1, 2 or 5 times a power of ten).
std::vector<double> nice_ticks(double lo, double hi, int count);

}  // namespace smrun::metrics
