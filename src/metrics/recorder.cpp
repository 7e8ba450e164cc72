#include "smrun/metrics/recorder.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include <fmt/format.h>

#include "smrun/base/fd_io.hpp"
#include "smrun/base/log.hpp"
#include "smrun/base/sys_error.hpp"
#include "smrun/base/unique_fd.hpp"
#include "smrun/metrics/svg_plot.hpp"
#include "smrun/supervise/capture.hpp"

namespace smrun::metrics {
namespace {

using Clock = std::chrono::steady_clock;

// Resource metrics, after the definitions' names.
enum ResourceMetric : std::size_t { kCpu, kRss, kGpuUtil, kGpuMemory, kResourceCount };
constexpr const char* kResourceNames[] = {"cpu_percent", "memory_rss_mib",
                                          "gpu_utilization_percent", "gpu_memory_used_mib"};

// Right after a worker starts, the next sample comes at once, unless one was taken this
// recently (a gang of 64 ranks starting must not cost 64 scans of /proc).
constexpr std::chrono::milliseconds kMinSampleGap{200};

// Queued rows that wake the writer before its period is up.
constexpr std::size_t kBatchRows = 4096;

// The rank column: the global rank; else the label without its host ("torchrun" of
// "algo-1:torchrun"); empty for the process launcher's one process, labelled with the host.
std::string rank_column(const supervise::ProcessSpec& spec, std::string_view host) {
  if (spec.rank) return std::to_string(*spec.rank);
  std::string_view label = spec.label;
  if (label == host) return "";
  if (label.size() > host.size() && label.starts_with(host) && label[host.size()] == ':')
    label.remove_prefix(host.size() + 1);
  return std::string(label);
}

std::string series_label(std::string_view host, std::string_view rank) {
  if (rank.empty()) return std::string(host);
  const bool numeric = !rank.empty() && std::all_of(rank.begin(), rank.end(),
                                                    [](char c) { return c >= '0' && c <= '9'; });
  return std::string(host) + (numeric ? " rank " : " ") + std::string(rank);
}

base::Status write_file_atomically(const std::filesystem::path& path, std::string_view data) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  base::UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  int error = fd.valid() ? base::write_all(fd.get(), data) : errno;
  if (error == 0 && ::fsync(fd.get()) != 0) error = errno;
  fd.reset();
  if (error == 0 && ::rename(temporary.c_str(), path.c_str()) != 0) error = errno;
  if (error == 0) return {};
  ::unlink(temporary.c_str());
  return base::fail(base::ErrorKind::kInternal,
                    "cannot write " + path.string() + ": " + base::errno_text(error));
}

}  // namespace

base::Expected<std::unique_ptr<Recorder>> Recorder::start(RecorderOptions options) {
  auto csv = CsvWriter::open(options.csv);
  if (!csv) return base::Unexpected(std::move(csv).error());
  std::unique_ptr<Recorder> recorder(new Recorder(std::move(options), std::move(*csv)));
  recorder->m_thread = std::thread([r = recorder.get()] { r->run(); });
  return recorder;
}

Recorder::Recorder(RecorderOptions options, CsvWriter csv)
    : m_options(std::move(options)),
      m_matcher(m_options.definitions),
      m_csv(std::move(csv)),
      m_cpu(::sysconf(_SC_CLK_TCK), ::sysconf(_SC_PAGESIZE)),
      m_gpu_query_on(!m_options.gpu_query.argv.empty() && m_options.interval.count() > 0) {
  for (const MetricDefinition& d : m_options.definitions) m_metric_names.push_back(d.name);
  m_resource_metrics = m_metric_names.size();
  for (const char* name : kResourceNames) m_metric_names.emplace_back(name);
  for (const std::string& name : m_metric_names) m_store.declare_metric(name);
}

Recorder::~Recorder() {
  finish();
}

double Recorder::now_s() const {
  return std::chrono::duration<double>(Clock::now() - m_options.start).count();
}

void Recorder::on_started(std::size_t worker, const supervise::ProcessSpec& spec, pid_t pid) {
  if (m_mpi_tags.size() <= worker) m_mpi_tags.resize(worker + 1);
  m_mpi_tags[worker] = spec.rank_hosts;
  const std::lock_guard lock(m_mutex);
  if (m_workers.size() <= worker) m_workers.resize(worker + 1);
  Worker& w = m_workers[worker];
  w.rank = rank_column(spec, m_options.host);
  w.pid = pid;
  // A helper daemon (MPI's sshd) is not the job's work: not sampled.
  w.running = !spec.service;
  m_new_worker = true;
  m_wake.notify_one();
}

void Recorder::on_exited(std::size_t worker) {
  const std::lock_guard lock(m_mutex);
  if (worker < m_workers.size()) m_workers[worker].running = false;
}

void Recorder::on_line(std::size_t worker, std::string_view line) {
  std::optional<int> tagged_rank;
  std::string host;
  if (worker < m_mpi_tags.size() && m_mpi_tags[worker]) {
    if (auto tag = mpirun_tag(line)) {
      const supervise::RankHosts& where = *m_mpi_tags[worker];
      tagged_rank = tag->rank;
      line.remove_prefix(tag->length);
      const auto index =
          static_cast<std::size_t>(tag->rank / std::max(where.processes_per_host, 1));
      if (index < where.hosts.size()) host = where.hosts[index];
    }
  }
  m_matches.clear();
  m_matcher.match(line, m_matches);
  if (m_matches.empty()) return;
  const double t = now_s();
  const std::lock_guard lock(m_mutex);
  const std::string rank = tagged_rank                 ? std::to_string(*tagged_rank)
                           : worker < m_workers.size() ? m_workers[worker].rank
                                                       : "";
  for (const MetricMatch& match : m_matches)
    queue(QueuedRow{t, rank, host, match.definition, match.value});
}

void Recorder::queue(QueuedRow row) {
  if (m_queue.size() >= kMaxQueued) {
    ++m_dropped;
    return;
  }
  m_queue.push_back(std::move(row));
  // A batch worth writing wakes the writer before its period is up.
  if (m_queue.size() == kBatchRows) m_wake.notify_one();
}

void Recorder::run() {
  const bool sampling = m_options.interval.count() > 0;
  Clock::time_point next_sample = Clock::time_point::max();
  Clock::time_point last_sample = m_options.start - kMinSampleGap;
  std::vector<QueuedRow> rows;
  std::unique_lock lock(m_mutex);
  while (true) {
    const Clock::time_point flush_at = Clock::now() + kFlushPeriod;
    m_wake.wait_until(lock, std::min(flush_at, next_sample), [&] {
      return m_stop || m_new_worker || m_queue.size() >= kBatchRows ||
             (sampling && Clock::now() >= next_sample);
    });
    const bool stop = m_stop;
    const Clock::time_point now = Clock::now();
    if (sampling && m_new_worker)
      next_sample = std::min(next_sample, std::max(now, last_sample + kMinSampleGap));
    m_new_worker = false;
    const bool sample_now = sampling && now >= next_sample;
    lock.unlock();
    if (sample_now && !stop) {
      sample();  // queues its rows
      last_sample = Clock::now();
      next_sample = last_sample + m_options.interval;
    }
    lock.lock();
    rows.swap(m_queue);
    lock.unlock();
    write_rows(rows);
    rows.clear();
    if (auto flushed = m_csv.flush(); !flushed) log::warn("{}", flushed.error().message);
    lock.lock();
    if (stop && m_queue.empty()) return;
  }
}

void Recorder::sample() {
  std::vector<pid_t> roots;
  std::vector<std::string> ranks;
  {
    const std::lock_guard lock(m_mutex);
    for (const Worker& w : m_workers) {
      if (!w.running) continue;
      roots.push_back(w.pid);
      ranks.push_back(w.rank);
    }
  }
  const double t = now_s();
  std::vector<QueuedRow> rows;
  if (!roots.empty()) {
    const std::vector<ProcStat> processes = read_proc_stats(m_options.proc);
    if (auto uptime = read_uptime(m_options.proc)) {
      const auto usage = m_cpu.sample(processes, roots, *uptime);
      for (std::size_t i = 0; i < usage.size(); ++i) {
        if (!usage[i]) continue;
        rows.push_back(
            QueuedRow{t, ranks[i], {}, m_resource_metrics + kCpu, usage[i]->cpu_percent});
        rows.push_back(QueuedRow{t, ranks[i], {}, m_resource_metrics + kRss, usage[i]->rss_mib});
      }
    }
  }
  if (m_gpu_query_on && !roots.empty()) {
    supervise::ProcessSpec spec = m_options.gpu_query;
    spec.argv.resize(1);
    spec.argv.insert(spec.argv.end(), {"--query-gpu=index,utilization.gpu,memory.used",
                                       "--format=csv,noheader,nounits"});
    spec.label = "nvidia-smi";
    auto result = supervise::run_and_capture(spec, m_options.gpu_query_limit);
    if (!result || result->timed_out || result->exit_code != 0) {
      // A driver that hangs or fails once will do it again: no more queries this job.
      m_gpu_query_on = false;
      log::warn("metrics: {} {}; GPU utilisation is not sampled any more", spec.argv[0],
                !result ? "could not be started: " + result.error().message
                : result->timed_out
                    ? fmt::format("did not answer within {} ms", m_options.gpu_query_limit.count())
                    : fmt::format("exited with code {}", result->exit_code));
    } else {
      for (const GpuUsage& gpu : parse_nvidia_smi_query(result->out)) {
        const std::string device = "gpu" + std::to_string(gpu.index);
        rows.push_back(
            QueuedRow{t, device, {}, m_resource_metrics + kGpuUtil, gpu.utilization_percent});
        rows.push_back(
            QueuedRow{t, device, {}, m_resource_metrics + kGpuMemory, gpu.memory_used_mib});
      }
    }
  }
  const std::lock_guard lock(m_mutex);
  for (QueuedRow& row : rows) queue(std::move(row));
}

void Recorder::write_rows(std::vector<QueuedRow>& rows) {
  for (const QueuedRow& row : rows) {
    const std::string& metric = m_metric_names[row.metric];
    const std::string& host = row.host.empty() ? m_options.host : row.host;
    m_csv.add(Row{row.time_s, host, row.rank, metric, row.value});
    m_store.add(metric, series_label(host, row.rank), row.time_s, row.value);
  }
}

void Recorder::write_plot() {
  PlotOptions plot;
  plot.title = "smrun metrics: " + m_options.host;
  plot.metrics = m_metric_names;
  if (auto written = write_file_atomically(m_options.svg, render_svg(m_store.series(), plot));
      !written)
    log::warn("metrics: {}", written.error().message);
}

RecorderSummary Recorder::finish() {
  if (m_finished) return {};
  m_finished = true;
  {
    const std::lock_guard lock(m_mutex);
    m_stop = true;
    m_wake.notify_one();
  }
  if (m_thread.joinable()) m_thread.join();
  write_plot();
  RecorderSummary summary;
  summary.values = m_csv.rows();
  summary.metrics = m_store.metrics().size();
  summary.dropped = m_dropped;
  if (summary.dropped > 0)
    log::warn("metrics: {} values were dropped (the CSV could not be written fast enough)",
              summary.dropped);
  log::info("Metrics: {} values of {} metrics in {}; plot: {}", summary.values, summary.metrics,
            m_options.csv.string(), m_options.svg.string());
  return summary;
}

}  // namespace smrun::metrics
