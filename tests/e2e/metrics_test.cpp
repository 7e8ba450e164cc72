// Metrics through `smrun train`: SMRUN_METRIC_DEFINITIONS matched in the program's output lines,
// per-rank CPU and memory samples (SMRUN_METRIC_INTERVAL_SECONDS), output/data/metrics.csv and
// output/data/metrics.svg.

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include <sstream>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

constexpr const char* kLossDefinitions =
    R"J([{"Name": "train:loss", "Regex": "loss=([0-9.]+)"},
        {"Name": "validation:acc", "Regex": "val_acc: ([0-9.eE+-]+)"},
        {"Name": "lr", "Regex": "lr=(\\S+)"}])J";

// Four loss lines on stdout, two accuracy lines on stderr (each stream's lines keep their
// order; the two pipes' lines interleave as they are read), and a line with two values.
constexpr const char* kLossJob = R"SH(#!/bin/sh
echo "epoch 1 loss=0.5"
echo "val_acc: 1e-1" >&2
echo "epoch 2 loss=0.25"
echo "progress without a value"
printf 'epoch 3 loss=0.125\r\n'
echo "val_acc: 0.75" >&2
echo "epoch 4 loss=0.0625 lr=1e-05"
)SH";

struct CsvRow {
  double time_s = 0;
  std::string host;
  std::string rank;
  std::string metric;
  std::string value;
};

std::vector<CsvRow> read_csv(const fs::path& path, std::string* header = nullptr) {
  std::istringstream in(read_file(path));
  std::string line;
  std::vector<CsvRow> rows;
  if (std::getline(in, line) && header != nullptr) *header = line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) f.push_back(cell);
    if (f.size() == 4 && line.back() == ',') f.emplace_back();
    EXPECT_EQ(f.size(), 5u) << line;
    if (f.size() != 5) continue;
    rows.push_back(CsvRow{std::stod(f[0]), f[1], f[2], f[3], f[4]});
  }
  return rows;
}

std::vector<std::string> values_of(const std::vector<CsvRow>& rows, const std::string& metric,
                                   const std::string& rank) {
  std::vector<std::string> out;
  for (const CsvRow& row : rows)
    if (row.metric == metric && row.rank == rank) out.push_back(row.value);
  return out;
}

fs::path csv_path(const JobDir& job) {
  return job.output_dir() / "data" / "metrics.csv";
}
fs::path svg_path(const JobDir& job) {
  return job.output_dir() / "data" / "metrics.svg";
}

TEST(Metrics, LossLinesBecomeCsvRowsAndAPlot) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.sh"}});
  job.write_code_file("train.sh", kLossJob, /*executable=*/true);
  ProcessResult r = job.run_train(
      {{"SMRUN_METRIC_DEFINITIONS", kLossDefinitions}, {"SMRUN_METRIC_INTERVAL_SECONDS", "0"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The output itself reaches the console unchanged.
  EXPECT_NE(r.out.find("epoch 1 loss=0.5\nepoch 2 loss=0.25\nprogress without a value\n"
                       "epoch 3 loss=0.125\r\nepoch 4 loss=0.0625 lr=1e-05\n"),
            std::string::npos)
      << r.out;
  std::string header;
  const std::vector<CsvRow> rows = read_csv(csv_path(job), &header);
  EXPECT_EQ(header, "time_s,host,rank,metric,value");
  ASSERT_EQ(rows.size(), 7u) << read_file(csv_path(job));
  // The process launcher's one process has no rank.
  EXPECT_EQ(values_of(rows, "train:loss", ""),
            (std::vector<std::string>{"0.5", "0.25", "0.125", "0.0625"}));
  EXPECT_EQ(values_of(rows, "validation:acc", ""), (std::vector<std::string>{"0.1", "0.75"}));
  EXPECT_EQ(values_of(rows, "lr", ""), (std::vector<std::string>{"1e-05"}));
  double last = 0;
  for (const CsvRow& row : rows) {
    EXPECT_EQ(row.host, "algo-1");
    if (row.metric == "train:loss") {
      EXPECT_GE(row.time_s, last);
      last = row.time_s;
    }
    EXPECT_LT(row.time_s, 60);
  }
  pugi::xml_document svg;
  const pugi::xml_parse_result parsed = svg.load_file(svg_path(job).c_str());
  ASSERT_TRUE(parsed) << parsed.description();
  EXPECT_EQ(svg.select_nodes("//g[@class='panel']").size(), 3u);
  EXPECT_EQ(svg.select_nodes("//g[@id='panel-0']/g[@class='series']/circle").size(), 4u);
  EXPECT_NE(r.err.find("Metrics: 7 values of 3 metrics in " + csv_path(job).string() +
                       "; plot: " + svg_path(job).string()),
            std::string::npos)
      << r.err;
}

// Every rank's lines, each rank's values in its own order.
TEST(Metrics, EachRanksValuesUnderItsRank) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.sh"}});
  job.write_code_file(
      "train.sh",
      "#!/bin/sh\n"
      "for step in 1 2 3; do echo \"rank $RANK step $step loss=$RANK.$step\"; done\n",
      true);
  ProcessResult r = job.run_train({{"SMRUN_LAUNCHER", "native"},
                                   {"SMRUN_NPROC_PER_NODE", "3"},
                                   {"SMRUN_METRIC_DEFINITIONS", kLossDefinitions},
                                   {"SMRUN_METRIC_INTERVAL_SECONDS", "0"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = read_csv(csv_path(job));
  EXPECT_EQ(rows.size(), 9u);
  for (int rank = 0; rank < 3; ++rank) {
    const std::string n = std::to_string(rank);
    EXPECT_EQ(values_of(rows, "train:loss", n),
              (std::vector<std::string>{n + ".1", n + ".2", n + ".3"}));
  }
  pugi::xml_document svg;
  ASSERT_TRUE(svg.load_file(svg_path(job).c_str()));
  EXPECT_EQ(svg.select_nodes("//g[@id='panel-0']/g[@class='series']").size(), 3u);
}

// A bad definition is a bad setting: exit code 65 before the program runs, and the failure
// file names the variable and the definition.
TEST(Metrics, BadDefinitionsFailTheJobLikeAnyBadSetting) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.sh"}});
  job.write_code_file("train.sh", "#!/bin/sh\n: > \"$E2E_SCRATCH/ran\"\n", true);
  for (const char* bad : {R"J([{"Name": "train:loss", "Regex": "loss=([0-9.]+"}])J",
                          R"J([{"Name": "train:loss", "Regex": "loss=[0-9.]+"}])J",
                          R"J([{"Name": "train:loss"}])J", "not json"}) {
    ProcessResult r = job.run_train({{"SMRUN_METRIC_DEFINITIONS", bad}});
    EXPECT_EQ(r.exit_code, 65) << bad << "\n" << r.err;
    const std::string failure = read_file(job.failure_file());
    EXPECT_NE(failure.find("SMRUN_METRIC_DEFINITIONS"), std::string::npos) << failure;
    if (std::string_view(bad) != "not json")
      EXPECT_NE(failure.find("definition 1 (\"train:loss\")"), std::string::npos) << failure;
    else
      EXPECT_NE(failure.find("invalid JSON"), std::string::npos) << failure;
    EXPECT_NE(r.err.find("SMRUN_METRIC_DEFINITIONS"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(job.scratch() / "ran"));
    EXPECT_FALSE(fs::exists(csv_path(job)));
  }
}

// Sampling alone (no definitions): each rank's CPU and memory. Each rank waits until the CSV
// holds its first sample (bounded), so the job is sampled at least once without guessing how
// long that takes.
TEST(Metrics, ResourceSamplesPerRank) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.sh"}});
  job.write_code_file("train.sh", R"SH(#!/bin/sh
csv="$SM_OUTPUT_DATA_DIR/metrics.csv"
n=0
until grep -q "^[0-9.]*,algo-1,$RANK,memory_rss_mib," "$csv" 2>/dev/null; do
  n=$((n + 1)); [ $n -gt 3000 ] && exit 9
  sleep 0.01
done
)SH",
                      true);
  ProcessResult r = job.run_train({{"SMRUN_LAUNCHER", "native"},
                                   {"SMRUN_NPROC_PER_NODE", "2"},
                                   {"SMRUN_METRIC_INTERVAL_SECONDS", "1"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = read_csv(csv_path(job));
  for (const std::string rank : {"0", "1"}) {
    const auto cpu = values_of(rows, "cpu_percent", rank);
    const auto rss = values_of(rows, "memory_rss_mib", rank);
    ASSERT_FALSE(cpu.empty()) << rank;
    EXPECT_EQ(cpu.size(), rss.size());
    for (const std::string& v : rss) EXPECT_GT(std::stod(v), 0) << rank;
    for (const std::string& v : cpu) EXPECT_GE(std::stod(v), 0) << rank;
  }
  for (const CsvRow& row : rows) EXPECT_TRUE(row.rank == "0" || row.rank == "1") << row.rank;
  pugi::xml_document svg;
  ASSERT_TRUE(svg.load_file(svg_path(job).c_str()));
  EXPECT_EQ(svg.select_nodes("//g[@class='panel']").size(), 2u);
}

// Neither setting: no metrics at all (nothing in output/data, stdout not captured).
TEST(Metrics, NoSettingsNoFiles) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.sh"}});
  job.write_code_file("train.sh", "#!/bin/sh\necho loss=0.5\n", true);
  ProcessResult r = job.run_train();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(csv_path(job)));
  EXPECT_FALSE(fs::exists(svg_path(job)));
  EXPECT_EQ(r.err.find("Metrics:"), std::string::npos);
}

}  // namespace
}  // namespace smrun::test::e2e
