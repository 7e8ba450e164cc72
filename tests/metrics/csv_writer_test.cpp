// output/data/metrics.csv: header, one row per value, RFC 4180 quoting, batched writes.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "smrun/metrics/csv_writer.hpp"
#include "support/test_support.hpp"

namespace smrun::metrics {
namespace {

TEST(MetricsCsv, FieldsAreQuotedOnlyWhenNeeded) {
  EXPECT_EQ(csv_field("train:loss"), "train:loss");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
}

TEST(MetricsCsv, RowsHaveMillisecondTimesAndRoundTripValues) {
  std::string out;
  append_row(out, Row{1.23456, "algo-1", "0", "train:loss", 0.1});
  append_row(out, Row{0, "algo-1", "gpu0", "lr", 1e-05});
  append_row(out, Row{12.5, "algo-2", "3", "x,y", -2500});
  append_row(out, Row{1, "h", "0", "m", std::numeric_limits<double>::quiet_NaN()});
  append_row(out, Row{1, "h", "0", "m", std::numeric_limits<double>::infinity()});
  EXPECT_EQ(out,
            "1.235,algo-1,0,train:loss,0.1\n"
            "0.000,algo-1,gpu0,lr,1e-05\n"
            "12.500,algo-2,3,\"x,y\",-2500\n"
            "1.000,h,0,m,nan\n"
            "1.000,h,0,m,inf\n");
}

TEST(MetricsCsv, WritesTheHeaderAtOnceAndRowsInBatches) {
  test::TempDir dir;
  const auto path = dir / "data/metrics.csv";  // the directory is created
  auto csv = CsvWriter::open(path);
  ASSERT_TRUE(csv) << csv.error().message;
  EXPECT_EQ(test::read_file(path), "time_s,host,rank,metric,value\n");
  csv->add(Row{1, "algo-1", "0", "loss", 0.5});
  EXPECT_EQ(test::read_file(path), "time_s,host,rank,metric,value\n");  // buffered
  ASSERT_TRUE(csv->flush());
  EXPECT_EQ(test::read_file(path), "time_s,host,rank,metric,value\n1.000,algo-1,0,loss,0.5\n");
  // A full batch is written without a flush: a crash loses at most one batch.
  const std::size_t row_bytes = std::string("2.000,algo-1,0,loss,0.25\n").size();
  for (std::size_t i = 0; i * row_bytes < CsvWriter::kBatchBytes; ++i)
    csv->add(Row{2, "algo-1", "0", "loss", 0.25});
  EXPECT_GT(test::read_file(path).size(), CsvWriter::kBatchBytes);
  EXPECT_EQ(csv->rows(), 1 + (CsvWriter::kBatchBytes + row_bytes - 1) / row_bytes);
}

TEST(MetricsCsv, UncreatableFileIsAnError) {
  test::TempDir dir;
  test::write_file(dir / "file", "");
  auto csv = CsvWriter::open(dir / "file/metrics.csv");
  ASSERT_FALSE(csv);
  EXPECT_NE(csv.error().message.find("cannot create"), std::string::npos) << csv.error().message;
}

TEST(MetricsCsv, AFailedWriteIsAnError) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  // Every write to /dev/full fails with ENOSPC: the header's already.
  auto csv = CsvWriter::open("/dev/full");
  ASSERT_FALSE(csv);
  EXPECT_NE(csv.error().message.find("cannot write /dev/full"), std::string::npos)
      << csv.error().message;
}

}  // namespace
}  // namespace smrun::metrics
