#pragma once

// output/data/metrics.csv: one row per value, written as the job runs.
//
//   time_s,host,rank,metric,value
//   12.345,algo-1,0,train:loss,0.25
//
// time_s: seconds since the program was started (its first attempt), with millisecond
// precision. rank: the process's global rank; for a process that is not one rank (torchrun,
// mpirun) its label without the host; empty for the one process of the process launcher; for a
// host-wide value (a GPU) the device ("gpu0"). metric: a definition's Name, or cpu_percent,
// memory_rss_mib, gpu_utilization_percent, gpu_memory_used_mib. value: the shortest text that reads
// back as the same double ("0.1", "1e-05", "nan", "inf"). Fields with a comma, quote or line break
// are quoted as RFC 4180 says.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "smrun/base/expected.hpp"
#include "smrun/base/unique_fd.hpp"

namespace smrun::metrics {

inline constexpr std::string_view kCsvHeader = "time_s,host,rank,metric,value\n";

struct Row {
  double time_s = 0;
  std::string_view host;
  std::string_view rank;
  std::string_view metric;
  double value = 0;
};

// `field` as one CSV field: unchanged, or quoted with its quotes doubled.
std::string csv_field(std::string_view field);
// The row's line, '\n' included, appended to `out`.
void append_row(std::string& out, const Row& row);

// Not thread-safe: the owner serialises calls. Rows are buffered and written in batches of at
// most kBatchBytes (and on flush()), so a crash loses at most the rows since the last flush.
class CsvWriter {
 public:
  static constexpr std::size_t kBatchBytes = 64 * 1024;

  // Creates (truncating) the file and writes the header.
  static base::Expected<CsvWriter> open(const std::filesystem::path& path);

  void add(const Row& row);
  // Writes the buffered rows. A write error is reported once (returned) and the file is given
  // up: rows after it are dropped.
  base::Status flush();
  std::size_t rows() const { return m_rows; }
  const std::filesystem::path& path() const { return m_path; }

 private:
  void write_buffer();

  std::filesystem::path m_path;
  base::UniqueFd m_fd;
  std::string m_buffer;
  std::size_t m_rows = 0;
  bool m_failed = false;
  std::optional<std::string> m_failure;  // not yet returned by flush()
};

}  // namespace smrun::metrics
