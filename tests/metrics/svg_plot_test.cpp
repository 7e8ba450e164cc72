// output/data/metrics.svg: well-formed XML (parsed with pugixml), one panel per metric, one line
// per series, escaped names, bounded size.

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include <cmath>
#include <limits>

#include "smrun/metrics/svg_plot.hpp"

namespace smrun::metrics {
namespace {

pugi::xml_document parse(const std::string& svg) {
  pugi::xml_document doc;
  const pugi::xml_parse_result parsed = doc.load_buffer(svg.data(), svg.size());
  EXPECT_TRUE(parsed) << parsed.description() << " at offset " << parsed.offset << "\n" << svg;
  return doc;
}

std::vector<std::string> texts(const pugi::xml_document& doc, const char* xpath) {
  std::vector<std::string> out;
  for (const pugi::xpath_node& node : doc.select_nodes(xpath))
    out.emplace_back(node.node().child_value());
  return out;
}

std::vector<Series> two_metrics() {
  return {
      Series{"train:loss", "algo-1 rank 0", {{0.5, 0.5}, {1.0, 0.25}, {1.5, 0.125}}},
      Series{"train:loss", "algo-1 rank 1", {{0.5, 0.6}, {1.0, 0.3}}},
      Series{"cpu_percent", "algo-1 rank 0", {{0, 99.5}, {2, 100}}},
  };
}

TEST(SvgPlot, OnePanelPerMetricOneLinePerSeries) {
  PlotOptions options;
  options.title = "smrun metrics: algo-1";
  const std::string svg = render_svg(two_metrics(), options);
  const auto doc = parse(svg);
  const pugi::xml_node root = doc.child("svg");
  ASSERT_TRUE(root);
  EXPECT_STREQ(root.attribute("xmlns").value(), "http://www.w3.org/2000/svg");
  EXPECT_STREQ(root.attribute("width").value(), "1000.0");
  EXPECT_STREQ(root.attribute("height").value(), "630.0");  // header + 2 panels
  EXPECT_EQ(doc.select_nodes("/svg/g[@class='panel']").size(), 2u);
  EXPECT_EQ(texts(doc, "/svg/g[@class='panel']/text[@font-weight='bold']"),
            (std::vector<std::string>{"train:loss", "cpu_percent"}));
  EXPECT_EQ(doc.select_nodes("//g[@id='panel-0']/g[@class='series']/path").size(), 2u);
  EXPECT_EQ(doc.select_nodes("//g[@id='panel-1']/g[@class='series']/path").size(), 1u);
  // Few points: each is a dot too.
  EXPECT_EQ(doc.select_nodes("//g[@id='panel-0']/g[@class='series']/circle").size(), 5u);
  // The legend names every series; the title is there.
  const auto all = texts(doc, "//text");
  EXPECT_NE(std::find(all.begin(), all.end(), "algo-1 rank 1"), all.end());
  EXPECT_EQ(all.front(), "smrun metrics: algo-1");
  // Tick labels on both axes: the loss panel's values run from 0.125 to 0.6.
  EXPECT_NE(std::find(all.begin(), all.end(), "0.6"), all.end());
  EXPECT_NE(std::find(all.begin(), all.end(), "seconds since the job started"), all.end());
  // A path starts with a move and draws lines in time order.
  const std::string d =
      doc.select_node("//g[@id='panel-0']/g[@class='series']/path").node().attribute("d").value();
  EXPECT_EQ(d.substr(0, 1), "M");
  EXPECT_EQ(std::count(d.begin(), d.end(), 'L'), 2);
}

TEST(SvgPlot, NamesWithMarkupAreEscaped) {
  std::vector<Series> series = {
      Series{"a<b & \"c\" 'd' </svg>", "host <x> rank 0", {{0, 1}, {1, 2}}},
      Series{"bad\x01utf8 \xff\xfe end", "l", {{0, 1}}},
  };
  PlotOptions options;
  options.title = "<script>alert(1)</script>";
  const std::string svg = render_svg(series, options);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  const auto doc = parse(svg);
  const auto titles = texts(doc, "/svg/g[@class='panel']/text[@font-weight='bold']");
  ASSERT_EQ(titles.size(), 2u);
  EXPECT_EQ(titles[0], "a<b & \"c\" 'd' </svg>");
  EXPECT_EQ(titles[1], "bad\xEF\xBF\xBDutf8 \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_EQ(texts(doc, "/svg/text")[0], "<script>alert(1)</script>");
}

TEST(SvgPlot, XmlEscape) {
  EXPECT_EQ(xml_escape("<&>\"'"), "&lt;&amp;&gt;&quot;&apos;");
  EXPECT_EQ(xml_escape("caf\xC3\xA9 \xE2\x82\xAC"), "caf\xC3\xA9 \xE2\x82\xAC");
  EXPECT_EQ(xml_escape("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  EXPECT_EQ(xml_escape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(xml_escape("a\tb\nc"), "a b c");
}

TEST(SvgPlot, NanAndInfinityBreakTheLine) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<Series> series = {Series{"m", "l", {{0, 1}, {1, nan}, {2, 3}, {3, 4}}}};
  const auto doc = parse(render_svg(series, {}));
  const std::string d = doc.select_node("//g[@class='series']/path").node().attribute("d").value();
  EXPECT_EQ(std::count(d.begin(), d.end(), 'M'), 2) << d;
  EXPECT_EQ(std::count(d.begin(), d.end(), 'L'), 1) << d;
}

TEST(SvgPlot, NothingRecordedStillRenders) {
  const auto doc = parse(render_svg({}, {}));
  EXPECT_EQ(doc.select_nodes("//g[@class='panel']").size(), 0u);
  const auto all = texts(doc, "//text");
  EXPECT_NE(std::find(all.begin(), all.end(), "no values were recorded"), all.end());
}

TEST(SvgPlot, LongSeriesAreDownsampledToTheBound) {
  std::vector<Series> series;
  for (int s = 0; s < 4; ++s) {
    Series one{"loss", "algo-1 rank " + std::to_string(s), {}};
    for (int i = 0; i < 200000; ++i) one.points.push_back(Point{i * 0.01, std::cos(i * 0.001) + s});
    series.push_back(std::move(one));
  }
  const std::string svg = render_svg(series, {});
  const auto doc = parse(svg);
  for (const pugi::xpath_node& path : doc.select_nodes("//g[@class='series']/path")) {
    const std::string d = path.node().attribute("d").value();
    EXPECT_LE(std::count(d.begin(), d.end(), 'L') + 1, 2000);
  }
  EXPECT_LT(svg.size(), 4u * 2000 * 16 + 20000);                          // about 15 bytes a point
  EXPECT_EQ(doc.select_nodes("//g[@class='series']/circle").size(), 0u);  // no dots
}

TEST(SvgPlot, ManySeriesKeepTheLegendShort) {
  std::vector<Series> series;
  for (int s = 0; s < 20; ++s)
    series.push_back(Series{"loss", "algo-1 rank " + std::to_string(s), {{0, 1.0 * s}}});
  const auto doc = parse(render_svg(series, {}));
  const auto all = texts(doc, "//text");
  EXPECT_NE(std::find(all.begin(), all.end(), "and 8 more"), all.end());
  EXPECT_EQ(std::find(all.begin(), all.end(), "algo-1 rank 12"), all.end());
}

// One value: a band around it; all zeros (an idle rank's CPU): 0 to 1.
TEST(SvgPlot, ConstantSeriesGetABand) {
  const auto doc = parse(render_svg(
      {Series{"idle", "l", {{0, 0}, {1, 0}}}, Series{"flat", "l", {{0, 50}, {1, 50}}}}, {}));
  const auto ticks = texts(doc, "//g[@id='panel-0']/text[@text-anchor='end']");
  EXPECT_EQ(ticks, (std::vector<std::string>{"0", "0.2", "0.4", "0.6", "0.8", "1"}));
  const auto flat = texts(doc, "//g[@id='panel-1']/text[@text-anchor='end']");
  EXPECT_EQ(flat, (std::vector<std::string>{"44", "46", "48", "50", "52", "54", "56"}));
}

TEST(SvgPlot, NiceTicks) {
  EXPECT_EQ(nice_ticks(0, 1, 6), (std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1}));
  EXPECT_EQ(nice_ticks(0.125, 0.6, 6), (std::vector<double>{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}));
  EXPECT_EQ(nice_ticks(0, 97, 8), (std::vector<double>{0, 20, 40, 60, 80, 100}));
}

}  // namespace
}  // namespace smrun::metrics
