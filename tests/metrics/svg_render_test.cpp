// The plot in a real browser: Debian's chromium renders an SVG smrun drew, headless, to a PNG,
// and the PNG must show a drawing (many colours, a good share of non-white pixels), not a blank
// page or an error. Skipped where chromium is not installed (scripts/setup-deps.sh installs it).
//
// Chromium only ever loads the file:// URL: DNS resolves nothing, every proxy and background
// service is off, and it runs with a throw-away profile and HOME.

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "smrun/metrics/svg_plot.hpp"
#include "support/test_support.hpp"

namespace smrun::metrics {
namespace {

std::optional<std::filesystem::path> find_chromium() {
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (std::filesystem::exists(path)) return std::filesystem::path(path);
  return std::nullopt;
}

std::vector<Series> job_like_series() {
  std::vector<Series> series;
  for (int rank = 0; rank < 4; ++rank) {
    Series loss{"train:loss", "algo-1 rank " + std::to_string(rank), {}};
    Series cpu{"cpu_percent", "algo-1 rank " + std::to_string(rank), {}};
    for (int step = 0; step < 300; ++step) {
      const double t = step * 0.5;
      loss.points.push_back({t, 2.0 * std::exp(-t / 40.0) + 0.05 * std::sin(step + rank)});
      cpu.points.push_back({t, 95 + 4 * std::sin(step / 7.0 + rank)});
    }
    series.push_back(std::move(loss));
    series.push_back(std::move(cpu));
  }
  series.push_back(Series{"a<b & \"quoted\" name", "algo-1 rank 0", {{0, 1}, {75, 3}, {150, 2}}});
  return series;
}

TEST(SvgRender, ChromiumDrawsThePlot) {
  const auto chromium = find_chromium();
  if (!chromium) GTEST_SKIP() << "chromium is not installed";
  test::TempDir dir;
  const auto svg = dir / "metrics.svg";
  const auto png = dir / "metrics.png";
  PlotOptions options;
  options.title = "smrun metrics: algo-1";
  test::write_file(svg, render_svg(job_like_series(), options));
  test::ProcessOptions run;
  run.argv = {chromium->string(),
              "--headless",
              "--no-sandbox",
              "--disable-gpu",
              "--no-first-run",
              "--disable-extensions",
              "--disable-sync",
              "--disable-background-networking",
              "--disable-component-update",
              "--disable-default-apps",
              "--disable-breakpad",
              "--no-pings",
              "--host-resolver-rules=MAP * ~NOTFOUND",
              "--proxy-server=socks5://127.0.0.1:9",
              "--user-data-dir=" + (dir / "profile").string(),
              "--hide-scrollbars",
              "--window-size=1000,950",
              "--screenshot=" + png.string(),
              "file://" + svg.string()};
  run.env =
      std::map<std::string, std::string>{{"HOME", dir.path().string()}, {"PATH", "/usr/bin:/bin"}};
  run.timeout = std::chrono::seconds(90);
  const test::ProcessResult r = test::run_process(run);
  ASSERT_FALSE(r.timed_out) << r.err;
  ASSERT_TRUE(std::filesystem::exists(png)) << "exit " << r.exit_code << "\n" << r.err;

  test::ProcessOptions stats;
  stats.argv = {"/usr/bin/python3", (test::source_dir() / "tests/metrics/png_stats.py").string(),
                png.string()};
  const test::ProcessResult s = test::run_process(stats);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  std::istringstream in(s.out);
  long width = 0, height = 0, colours = 0, non_white = 0;
  in >> width >> height >> colours >> non_white;
  EXPECT_EQ(width, 1000);
  EXPECT_EQ(height, 950);
  // Lines in ten colours, anti-aliased text and grid: hundreds of colours; a blank page has 1,
  // an error page a handful.
  EXPECT_GT(colours, 50) << s.out;
  // Text, axes, grid and lines cover a few percent of the page, never most of it.
  EXPECT_GT(non_white, width * height / 100) << s.out;
  EXPECT_LT(non_white, width * height / 2) << s.out;
}

}  // namespace
}  // namespace smrun::metrics
