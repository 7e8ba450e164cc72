// The recorder: lines matched on the caller's thread, /proc and nvidia-smi sampled on its own,
// the CSV written as it goes and the SVG at the end.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <pugixml.hpp>

#include <chrono>
#include <sstream>

#include "smrun/metrics/recorder.hpp"
#include "support/test_support.hpp"

namespace smrun::metrics {
namespace {

using namespace std::chrono_literals;

// A child leading its own process group, waiting to be killed: a stand-in for a worker.
class Sleeper {
 public:
  Sleeper() {
    m_pid = ::fork();
    if (m_pid == 0) {
      ::setpgid(0, 0);
      while (true) ::pause();
    }
    ::setpgid(m_pid, m_pid);  // either side may get there first
  }
  ~Sleeper() {
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
  }
  pid_t pid() const { return m_pid; }

 private:
  pid_t m_pid = -1;
};

std::vector<std::vector<std::string>> csv_rows(const std::filesystem::path& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(test::read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::istringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) fields.push_back(cell);
    rows.push_back(fields);
  }
  return rows;
}

std::size_t count_metric(const std::filesystem::path& path, std::string_view metric) {
  std::size_t n = 0;
  for (const auto& row : csv_rows(path))
    if (row.size() == 5 && row[3] == metric) ++n;
  return n;
}

// Polls the CSV (the recorder's thread writes it) until `metric` has `count` rows.
bool wait_for_rows(const std::filesystem::path& path, std::string_view metric, std::size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (count_metric(path, metric) >= count) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

supervise::ProcessSpec rank_spec(int rank) {
  supervise::ProcessSpec spec;
  spec.label = "algo-1:" + std::to_string(rank);
  spec.rank = rank;
  return spec;
}

RecorderOptions options_in(const test::TempDir& dir) {
  RecorderOptions options;
  options.csv = dir / "data/metrics.csv";
  options.svg = dir / "data/metrics.svg";
  options.host = "algo-1";
  return options;
}

TEST(Recorder, LinesBecomeRowsInOrderAndAPlot) {
  test::TempDir dir;
  RecorderOptions options = options_in(dir);
  options.definitions = {{"train:loss", "loss=([0-9.]+)"}, {"acc", "acc=(\\S+)"}};
  auto recorder = Recorder::start(options);
  ASSERT_TRUE(recorder) << recorder.error().message;
  Recorder& r = **recorder;
  EXPECT_TRUE(r.wants_lines());
  EXPECT_EQ(test::read_file(options.csv), "time_s,host,rank,metric,value\n");
  r.on_started(0, rank_spec(0), 999999);
  r.on_started(1, rank_spec(1), 999998);
  r.on_line(0, "epoch 1 loss=0.5");
  r.on_line(1, "loss=0.75 acc=0.5");
  r.on_line(0, "no metric here");
  r.on_line(0, "loss=0.25");
  r.on_exited(0);
  r.on_exited(1);
  const RecorderSummary summary = r.finish();
  EXPECT_EQ(summary.values, 4u);
  EXPECT_EQ(summary.metrics, 2u);
  const auto rows = csv_rows(options.csv);
  ASSERT_EQ(rows.size(), 5u);
  const std::vector<std::vector<std::string>> expected = {
      {"algo-1", "0", "train:loss", "0.5"},
      {"algo-1", "1", "train:loss", "0.75"},
      {"algo-1", "1", "acc", "0.5"},
      {"algo-1", "0", "train:loss", "0.25"},
  };
  for (std::size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(rows[i + 1].size(), 5u);
    EXPECT_EQ(std::vector<std::string>(rows[i + 1].begin() + 1, rows[i + 1].end()), expected[i]);
  }
  pugi::xml_document svg;
  ASSERT_TRUE(svg.load_file(options.svg.c_str()));
  EXPECT_EQ(svg.select_nodes("//g[@class='panel']").size(), 2u);
  EXPECT_FALSE(std::filesystem::exists(options.svg.string() + ".tmp"));
  EXPECT_EQ(r.finish().values, 0u);  // once
}

// mpirun --tag-output: a tagged line counts for the rank and host in its tag, and is matched
// without the tag; mpirun's own lines count for mpirun.
TEST(Recorder, MpirunTaggedLinesCountForTheirRank) {
  test::TempDir dir;
  RecorderOptions options = options_in(dir);
  options.definitions = {{"loss", "^loss=([0-9.]+)"}};
  auto recorder = Recorder::start(options);
  ASSERT_TRUE(recorder);
  supervise::ProcessSpec mpirun;
  mpirun.label = "algo-1:mpirun";
  mpirun.rank_hosts = supervise::RankHosts{{"algo-1", "algo-2"}, 2};
  (*recorder)->on_started(0, mpirun, 999999);
  (*recorder)->on_line(0, "[1,3]<stdout>:loss=0.5");
  (*recorder)->on_line(0, "[1,0]<stderr>:loss=0.25");
  (*recorder)->on_line(0, "loss=0.125");
  (*recorder)->on_exited(0);
  (*recorder)->finish();
  const auto rows = csv_rows(options.csv);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(rows[1].begin() + 1, rows[1].end()),
            (std::vector<std::string>{"algo-2", "3", "loss", "0.5"}));
  EXPECT_EQ(std::vector<std::string>(rows[2].begin() + 1, rows[2].end()),
            (std::vector<std::string>{"algo-1", "0", "loss", "0.25"}));
  EXPECT_EQ(std::vector<std::string>(rows[3].begin() + 1, rows[3].end()),
            (std::vector<std::string>{"algo-1", "mpirun", "loss", "0.125"}));
}

TEST(Recorder, WithoutDefinitionsNoLinesAreWanted) {
  test::TempDir dir;
  RecorderOptions options = options_in(dir);
  options.interval = 1s;
  auto recorder = Recorder::start(options);
  ASSERT_TRUE(recorder);
  EXPECT_FALSE((*recorder)->wants_lines());
}

TEST(Recorder, SamplesEachRanksProcessTree) {
  test::TempDir dir;
  RecorderOptions options = options_in(dir);
  options.interval = 1s;
  auto recorder = Recorder::start(options);
  ASSERT_TRUE(recorder);
  Sleeper worker;
  (*recorder)->on_started(0, rank_spec(3), worker.pid());
  // A worker's start brings a sample at once, then one every second.
  ASSERT_TRUE(wait_for_rows(options.csv, "memory_rss_mib", 2));
  (*recorder)->on_exited(0);
  const RecorderSummary summary = (*recorder)->finish();
  EXPECT_EQ(summary.metrics, 2u);
  for (const auto& row : csv_rows(options.csv)) {
    if (row[0] == "time_s") continue;
    ASSERT_EQ(row.size(), 5u);
    EXPECT_EQ(row[2], "3");
    EXPECT_TRUE(row[3] == "cpu_percent" || row[3] == "memory_rss_mib") << row[3];
    EXPECT_GE(std::stod(row[4]), 0);
    if (row[3] == "memory_rss_mib") EXPECT_GT(std::stod(row[4]), 0);
  }
  EXPECT_EQ(count_metric(options.csv, "cpu_percent"), count_metric(options.csv, "memory_rss_mib"));
}

TEST(Recorder, GpuUseFromNvidiaSmi) {
  test::TempDir dir;
  test::write_file(dir / "nvidia-smi",
                   "#!/bin/sh\n"
                   "[ \"$1\" = --query-gpu=index,utilization.gpu,memory.used ] || exit 3\n"
                   "[ \"$2\" = --format=csv,noheader,nounits ] || exit 4\n"
                   "printf '0, 87, 30512\\n1, 12, 100\\n'\n",
                   true);
  RecorderOptions options = options_in(dir);
  options.interval = 1s;
  options.gpu_query.argv = {(dir / "nvidia-smi").string()};
  options.gpu_query.env = {"PATH=/usr/bin:/bin"};
  auto recorder = Recorder::start(options);
  ASSERT_TRUE(recorder);
  Sleeper worker;
  (*recorder)->on_started(0, rank_spec(0), worker.pid());
  ASSERT_TRUE(wait_for_rows(options.csv, "gpu_memory_used_mib", 2));
  (*recorder)->on_exited(0);
  (*recorder)->finish();
  std::vector<std::string> gpu_rows;
  for (const auto& row : csv_rows(options.csv))
    if (row.size() == 5 && row[3].starts_with("gpu_"))
      gpu_rows.push_back(row[2] + " " + row[3] + " " + row[4]);
  ASSERT_GE(gpu_rows.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(gpu_rows.begin(), gpu_rows.begin() + 4),
            (std::vector<std::string>{
                "gpu0 gpu_utilization_percent 87", "gpu0 gpu_memory_used_mib 30512",
                "gpu1 gpu_utilization_percent 12", "gpu1 gpu_memory_used_mib 100"}));
}

// A wedged driver: nvidia-smi never answers. The query is given up at its time limit, never
// tried again, and the CPU and memory samples go on.
TEST(Recorder, AHangingNvidiaSmiIsGivenUp) {
  test::TempDir dir;
  test::write_file(dir / "nvidia-smi", "#!/bin/sh\nexec sleep 60\n", true);
  RecorderOptions options = options_in(dir);
  options.interval = 1s;
  options.gpu_query.argv = {(dir / "nvidia-smi").string()};
  options.gpu_query.env = {"PATH=/usr/bin:/bin"};
  options.gpu_query_limit = 300ms;
  auto recorder = Recorder::start(options);
  ASSERT_TRUE(recorder);
  Sleeper worker;
  (*recorder)->on_started(0, rank_spec(0), worker.pid());
  ASSERT_TRUE(wait_for_rows(options.csv, "cpu_percent", 3));
  (*recorder)->on_exited(0);
  const auto before = std::chrono::steady_clock::now();
  (*recorder)->finish();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
  EXPECT_EQ(count_metric(options.csv, "gpu_utilization_percent"), 0u);
}

}  // namespace
}  // namespace smrun::metrics
