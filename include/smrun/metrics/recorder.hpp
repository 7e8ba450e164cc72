#pragma once

// A job's metrics: the values its output lines carry (SMRUN_METRIC_DEFINITIONS) and its
// processes' CPU, memory and GPU use, sampled at a steady interval; written to metrics.csv as
// they come and plotted to metrics.svg at the end.
//
// Two threads: the supervisor's calls the WorkerObserver methods, which only match lines and
// queue rows under a lock held for a push; the recorder's own thread samples /proc and
// nvidia-smi (with a time limit) and does all the file writing, so neither a slow disk nor a
// wedged GPU driver can hold up the supervisor loop.
//
// nvidia-smi is the one child not started by the supervisor while it runs (the exception to
// "the supervisor owns every child"): run_and_capture waits for it by pid, and when the
// supervisor's waitpid(-1) reaps it first, its output has still been read in full (an exit code
// lost that way reads as 0; output that does not parse gives no rows). No query starts once no
// worker is running, so the supervisor's end-of-run sweep of leftover children meets none, short
// of one that was already under way.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/metrics/csv_writer.hpp"
#include "smrun/metrics/definitions.hpp"
#include "smrun/metrics/matcher.hpp"
#include "smrun/metrics/resources.hpp"
#include "smrun/metrics/series.hpp"
#include "smrun/supervise/process_spec.hpp"
#include "smrun/supervise/worker_observer.hpp"

namespace smrun::metrics {

struct RecorderOptions {
  std::filesystem::path csv;  // created at start
  std::filesystem::path svg;  // written by finish()
  std::string host;           // the host column
  std::vector<MetricDefinition> definitions;
  // Resource samples every `interval`; zero: none.
  std::chrono::milliseconds interval{0};
  // The GPU query run at each sample: nvidia-smi's absolute path in argv[0] (the recorder adds
  // the arguments) and its environment. Empty argv: no GPU values.
  supervise::ProcessSpec gpu_query;
  std::chrono::milliseconds gpu_query_limit{5000};
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::filesystem::path proc = "/proc";
};

struct RecorderSummary {
  std::size_t values = 0;   // rows written
  std::size_t metrics = 0;  // distinct metrics among them
  std::size_t dropped = 0;  // values lost to a stalled writer (see kMaxQueued)
};

class Recorder final : public supervise::WorkerObserver {
 public:
  // Rows waiting for the writer thread beyond this are dropped (and counted): a disk that has
  // stopped taking writes must not grow smrun's memory without bound.
  static constexpr std::size_t kMaxQueued = 1 << 20;
  // Rows from output lines reach the file within this time.
  static constexpr std::chrono::milliseconds kFlushPeriod{1000};

  // Creates the CSV (with its header) and starts the thread.
  static base::Expected<std::unique_ptr<Recorder>> start(RecorderOptions options);
  ~Recorder() override;
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  bool wants_lines() const override { return !m_matcher.empty(); }
  void on_started(std::size_t worker, const supervise::ProcessSpec& spec, pid_t pid) override;
  void on_line(std::size_t worker, std::string_view line) override;
  void on_exited(std::size_t worker) override;

  // Stops the thread, writes what is queued and the plot (atomically: a temporary file renamed),
  // and logs one line saying where both are. Only the first call does anything.
  RecorderSummary finish();

  const RecorderOptions& options() const { return m_options; }

 private:
  struct Worker {
    std::string rank;  // the rank column
    pid_t pid = -1;
    bool running = false;
  };
  struct QueuedRow {
    double time_s = 0;
    std::string rank;
    std::string host;        // empty: options.host
    std::size_t metric = 0;  // index in m_metric_names
    double value = 0;
  };

  Recorder(RecorderOptions options, CsvWriter csv);
  double now_s() const;
  void queue(QueuedRow row);  // with m_mutex held
  void run();
  void sample();
  void write_rows(std::vector<QueuedRow>& rows);
  void write_plot();

  const RecorderOptions m_options;
  const LineMatcher m_matcher;
  std::vector<std::string> m_metric_names;  // definitions, then the resource metrics
  std::size_t m_resource_metrics = 0;       // index of the first resource metric

  // Shared between the two threads.
  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::vector<Worker> m_workers;
  std::vector<QueuedRow> m_queue;
  std::size_t m_dropped = 0;
  bool m_new_worker = false;
  bool m_stop = false;

  // The supervisor's thread only.
  std::vector<MetricMatch> m_matches;
  // For each worker that is mpirun run with --tag-output: where its ranks live, so a line
  // tagged "[1,3]<stdout>:" counts for rank 3 on its host (and is matched without the tag).
  std::vector<std::optional<supervise::RankHosts>> m_mpi_tags;

  // The recorder's thread only (and finish(), after joining it).
  CsvWriter m_csv;
  SeriesStore m_store;
  CpuTracker m_cpu;
  bool m_gpu_query_on = false;
  std::thread m_thread;
  bool m_finished = false;
};

// The job's metric file names in output/data.
inline constexpr std::string_view kCsvName = "metrics.csv";
inline constexpr std::string_view kSvgName = "metrics.svg";

}  // namespace smrun::metrics
