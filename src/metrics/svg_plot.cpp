#include "smrun/metrics/svg_plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

namespace smrun::metrics {
namespace {

// Layout, in SVG user units (pixels at 100%).
constexpr double kWidth = 1000;
constexpr double kHeaderHeight = 50;
constexpr double kPanelHeight = 290;
constexpr double kLeft = 80;         // room for the y tick labels
constexpr double kRight = 230;       // room for the legend
constexpr double kPanelTop = 34;     // the panel's title above its plot area
constexpr double kPanelBottom = 56;  // x tick labels and the axis title below it
constexpr std::size_t kLegendRows = 12;
constexpr std::size_t kMaxLabelChars = 32;

// Tableau 10: distinguishable, also for the common colour blindnesses.
constexpr const char* kColours[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

std::string number(double v) {
  if (v == 0) return "0";  // not "-0"
  return fmt::format("{:.6g}", v);
}

std::string coord(double v) {
  return fmt::format("{:.1f}", v);
}

// A label cut to at most max_chars code points, "..." marking the cut.
std::string shorten(std::string_view text, std::size_t max_chars) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (++chars > max_chars) return std::string(text.substr(0, i)) + "...";
  }
  return std::string(text);
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

// Tick values for an axis over [lo, hi], and the axis ends widened to the outer ticks.
struct Axis {
  double lo = 0;
  double hi = 1;
  std::vector<double> ticks;
};

Axis make_axis(Range range, int count, bool from_zero) {
  if (range.empty()) range = Range{0, 1};
  if (from_zero) range.lo = std::min(range.lo, 0.0);
  if (range.hi - range.lo <= std::abs(range.hi) * 1e-12) {  // one value: a band around it
    if (range.hi == 0) {                                    // 0 (an idle CPU): 0 to 1, not -1 to 1
      range.hi = 1;
    } else {
      const double pad = std::abs(range.hi) * 0.1;
      range.lo -= pad;
      range.hi += pad;
    }
  }
  Axis axis;
  axis.ticks = nice_ticks(range.lo, range.hi, count);
  axis.lo = std::min(range.lo, axis.ticks.front());
  axis.hi = std::max(range.hi, axis.ticks.back());
  return axis;
}

void append_utf8(std::string& out, std::string_view text, std::size_t& i) {
  // One UTF-8 sequence at text[i], valid ones copied, anything else replaced by U+FFFD.
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  std::size_t length = 0;
  std::uint32_t code = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    length = 2;
    code = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    length = 3;
    code = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    length = 4;
    code = c & 0x07;
  }
  bool valid = length != 0 && i + length <= text.size();
  for (std::size_t k = 1; valid && k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) valid = false;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  // Overlong forms, surrogates, beyond U+10FFFF, and U+FFFE/U+FFFF are not XML characters.
  if (valid) {
    const std::uint32_t min = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
    valid = code >= min && code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF) &&
            code != 0xFFFE && code != 0xFFFF;
  }
  if (!valid) {
    out += "\xEF\xBF\xBD";
    ++i;
    return;
  }
  out.append(text.substr(i, length));
  i += length;
}

class Svg {
 public:
  void text(double x, double y, std::string_view content, std::string_view attributes) {
    fmt::format_to(std::back_inserter(m_out), "<text x=\"{}\" y=\"{}\" {}>{}</text>\n", coord(x),
                   coord(y), attributes, xml_escape(content));
  }
  void line(double x1, double y1, double x2, double y2, std::string_view attributes) {
    fmt::format_to(std::back_inserter(m_out),
                   "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {}/>\n", coord(x1), coord(y1),
                   coord(x2), coord(y2), attributes);
  }
  void raw(std::string_view text) { m_out.append(text); }
  std::string& out() { return m_out; }

 private:
  std::string m_out;
};

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      append_utf8(out, text, i);
      continue;
    }
    ++i;
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\t':
      case '\n':
      case '\r':
        out += ' ';
        break;
      default:
        if (c < 0x20 || c == 0x7F)
          out += "\xEF\xBF\xBD";
        else
          out += static_cast<char>(c);
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || hi <= lo || count < 2) return {lo, hi};
  const double raw = (hi - lo) / (count - 1);
  int exponent = static_cast<int>(std::floor(std::log10(raw)));
  double mantissa = 10;  // the step is mantissa * 10^exponent
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * std::pow(10.0, exponent)) {
      mantissa = m;
      break;
    }
  }
  // k * mantissa * 10^exponent, divided by an exact power of ten when the exponent is negative:
  // 3 * 0.2 is 0.6000000000000001, 6 / 10 is 0.6.
  const double scale = std::pow(10.0, std::abs(exponent));
  const auto value = [&](double k) {
    return exponent < 0 ? k * mantissa / scale : k * mantissa * scale;
  };
  const double step = value(1);
  const double first = std::floor(lo / step);
  std::vector<double> ticks;
  for (int i = 0; i <= 100; ++i) {
    const double t = value(first + i);
    ticks.push_back(t == 0 ? 0.0 : t);  // no -0
    if (t >= hi - step * 1e-9) break;
  }
  return ticks;
}

std::string render_svg(const std::vector<Series>& series, const PlotOptions& options) {
  std::vector<std::string> metrics = options.metrics;
  for (const Series& s : series)
    if (std::find(metrics.begin(), metrics.end(), s.metric) == metrics.end())
      metrics.push_back(s.metric);
  // Only metrics with something to draw get a panel.
  std::erase_if(metrics, [&](const std::string& m) {
    return std::none_of(series.begin(), series.end(),
                        [&](const Series& s) { return s.metric == m && !s.points.empty(); });
  });

  // One time axis for every panel: from the job's start to its last value.
  Range time{0, 0};
  for (const Series& s : series)
    for (const Point& p : s.points) time.add(p.t);
  const Axis x_axis = make_axis(time, 8, true);

  const double height = kHeaderHeight + std::max<std::size_t>(metrics.size(), 1) * kPanelHeight;
  Svg svg;
  fmt::format_to(std::back_inserter(svg.out()),
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{0}\" "
                 "height=\"{1}\" viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\">\n",
                 coord(kWidth), coord(height));
  svg.raw(fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"white\"/>\n",
                      coord(kWidth), coord(height)));
  svg.text(kWidth / 2, 30, options.title, "font-size=\"20\" text-anchor=\"middle\"");
  if (metrics.empty())
    svg.text(kWidth / 2, kHeaderHeight + 40, "no values were recorded",
             "font-size=\"14\" text-anchor=\"middle\" fill=\"#555\"");

  const double plot_left = kLeft;
  const double plot_right = kWidth - kRight;
  for (std::size_t m = 0; m < metrics.size(); ++m) {
    const std::string& metric = metrics[m];
    const double top = kHeaderHeight + m * kPanelHeight + kPanelTop;
    const double bottom = kHeaderHeight + (m + 1) * kPanelHeight - kPanelBottom;
    std::vector<const Series*> members;
    Range values;
    for (const Series& s : series) {
      if (s.metric != metric || s.points.empty()) continue;
      members.push_back(&s);
      for (const Point& p : s.points) values.add(p.v);
    }
    const Axis y_axis = make_axis(values, 6, false);
    const auto sx = [&](double t) {
      return plot_left + (t - x_axis.lo) / (x_axis.hi - x_axis.lo) * (plot_right - plot_left);
    };
    const auto sy = [&](double v) {
      return bottom - (v - y_axis.lo) / (y_axis.hi - y_axis.lo) * (bottom - top);
    };

    svg.raw(fmt::format("<g class=\"panel\" id=\"panel-{}\">\n", m));
    svg.text(plot_left, top - 12, metric, "font-size=\"15\" font-weight=\"bold\"");
    for (double t : y_axis.ticks) {
      const double y = sy(t);
      svg.line(plot_left, y, plot_right, y, "stroke=\"#e3e3e3\"");
      svg.text(plot_left - 6, y + 4, number(t), "font-size=\"11\" text-anchor=\"end\"");
    }
    for (double t : x_axis.ticks) {
      const double x = sx(t);
      svg.line(x, top, x, bottom, "stroke=\"#efefef\"");
      svg.line(x, bottom, x, bottom + 4, "stroke=\"#333\"");
      svg.text(x, bottom + 17, number(t), "font-size=\"11\" text-anchor=\"middle\"");
    }
    svg.raw(fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n",
        coord(plot_left), coord(top), coord(plot_right - plot_left), coord(bottom - top)));
    svg.text((plot_left + plot_right) / 2, bottom + 36, "seconds since the job started",
             "font-size=\"12\" text-anchor=\"middle\" fill=\"#333\"");

    for (std::size_t i = 0; i < members.size(); ++i) {
      const char* colour = kColours[i % std::size(kColours)];
      const std::vector<Point> points = downsample(members[i]->points, options.max_points);
      // One path; a NaN or infinite value breaks the line.
      std::string d;
      bool pen_down = false;
      std::size_t finite = 0;
      for (const Point& p : points) {
        if (!std::isfinite(p.v) || !std::isfinite(p.t)) {
          pen_down = false;
          continue;
        }
        ++finite;
        fmt::format_to(std::back_inserter(d), "{}{}{},{}", d.empty() ? "" : " ",
                       pen_down ? "L" : "M", coord(sx(p.t)), coord(sy(p.v)));
        pen_down = true;
      }
      svg.raw(fmt::format("<g class=\"series\" stroke=\"{0}\" fill=\"{0}\">\n", colour));
      if (!d.empty())
        svg.raw(fmt::format("<path d=\"{}\" fill=\"none\" stroke-width=\"1.8\"/>\n", d));
      if (finite <= 60)  // few values: each one visible as a dot
        for (const Point& p : points)
          if (std::isfinite(p.v) && std::isfinite(p.t))
            svg.raw(fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"2.6\" stroke=\"none\"/>\n",
                                coord(sx(p.t)), coord(sy(p.v))));
      svg.raw("</g>\n");

      if (i < kLegendRows) {
        const double ly = top + 8 + static_cast<double>(i) * 18;
        const double lx = plot_right + 16;
        svg.line(lx, ly, lx + 22, ly, fmt::format("stroke=\"{}\" stroke-width=\"3\"", colour));
        svg.text(lx + 28, ly + 4, shorten(members[i]->label, kMaxLabelChars), "font-size=\"12\"");
      }
    }
    if (members.size() > kLegendRows)
      svg.text(plot_right + 44, top + 8 + static_cast<double>(kLegendRows) * 18 + 4,
               fmt::format("and {} more", members.size() - kLegendRows),
               "font-size=\"12\" fill=\"#555\"");
    svg.raw("</g>\n");
  }
  svg.raw("</svg>\n");
  return std::move(svg.out());
}

}  // namespace smrun::metrics
