#include "smrun/supervise/output_relay.hpp"
#include "smrun/base/fd_io.hpp"
#include "smrun/base/log.hpp"
#include "smrun/base/sys_error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace smrun::supervise {

using base::UniqueFd;
namespace {

// As much as a worker's pipe holds (see output_pipe_capacity): one read empties it, mostly.
constexpr std::size_t kReadChunk = 256 * 1024;
// drain_worker() reads at most this much per stream: a descendant that keeps the pipe open and
// keeps writing must not hold the loop.
constexpr std::size_t kDrainLimit = 1024 * 1024;

}  // namespace

std::filesystem::path worker_log_path(const std::filesystem::path& log_dir,
                                      const std::string& label) {
  std::string name = label;
  std::replace(name.begin(), name.end(), ':', '-');
  std::replace(name.begin(), name.end(), '/', '-');  // a label must not leave log_dir
  return log_dir / (name + ".log");
}

base::Expected<std::vector<UniqueFd>> open_worker_logs(const std::filesystem::path& log_dir,
                                                       const std::vector<std::string>& labels) {
  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);
  if (ec)
    return base::fail(base::ErrorKind::kConfig, "log directory '" + log_dir.string() +
                                                    "': cannot create it: " + ec.message());
  std::vector<UniqueFd> files;
  for (const std::string& label : labels) {
    const std::filesystem::path path = worker_log_path(log_dir, label);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!fd.valid())
      return base::fail(
          base::ErrorKind::kConfig,
          "worker log file '" + path.string() + "': cannot open it: " + base::errno_text(errno));
    files.push_back(std::move(fd));
  }
  return files;
}

OutputRelay::OutputRelay(bool prefix_lines, std::size_t tail_bytes)
    : m_prefix_lines(prefix_lines),
      m_tail_bytes(tail_bytes),
      m_buffer(std::make_unique_for_overwrite<char[]>(kReadChunk)) {}

void OutputRelay::add_worker(const std::string& label, UniqueFd stdout_fd, UniqueFd stderr_fd,
                             UniqueFd log_file, std::optional<RankHosts> rank_hosts, bool console,
                             bool nested) {
  WorkerStreams& worker = m_workers.emplace_back(
      WorkerStreams{label, console, {}, {}, std::move(log_file), StderrTail(m_tail_bytes)});
  worker.out.fd = std::move(stdout_fd);
  worker.out.sink = &m_stdout;
  worker.err.fd = std::move(stderr_fd);
  worker.err.sink = &m_stderr;
  worker.err.is_stderr = true;
  if (m_prefix_lines) {
    worker.out.lines.emplace(label, rank_hosts, nested);
    worker.err.lines.emplace(label, rank_hosts, nested);
  }
}

void OutputRelay::add_poll_fds(std::vector<pollfd>& fds) {
  m_poll_base = fds.size();
  m_polled.clear();
  for (std::size_t i = 0; i < m_workers.size(); ++i) {
    for (Stream* stream : {&m_workers[i].out, &m_workers[i].err}) {
      if (!stream->fd.valid() || stream->sink->full()) continue;  // full: backpressure
      fds.push_back({stream->fd.get(), POLLIN, 0});
      m_polled.push_back({PollKind::kStream, i, stream->is_stderr, nullptr});
    }
  }
  for (OutputSink* sink : {&m_stdout, &m_stderr}) {
    if (!sink->pending()) continue;
    fds.push_back({sink->fd(), POLLOUT, 0});
    m_polled.push_back({PollKind::kSink, 0, false, sink});
  }
}

void OutputRelay::handle(const std::vector<pollfd>& fds) {
  for (std::size_t i = 0; i < m_polled.size(); ++i) {
    if (fds.at(m_poll_base + i).revents == 0) continue;
    const PollEntry& entry = m_polled[i];
    if (entry.kind == PollKind::kSink) continue;  // flushed below anyway
    WorkerStreams& worker = m_workers[entry.worker];
    read_once(worker, entry.is_stderr ? worker.err : worker.out);
  }
  m_stdout.flush();
  m_stderr.flush();
  report_sink_failures();
}

void OutputRelay::report_sink_failures() {
  for (OutputSink* sink : {&m_stdout, &m_stderr})
    if (auto failure = sink->take_failure()) log::warn("{}", *failure);
}

void OutputRelay::finish_log() {
  m_stderr.write_pending_blocking();
  m_abandoned = true;  // from now on smrun's lines are written directly
  report_sink_failures();
}

void OutputRelay::drain_worker(std::size_t index) {
  WorkerStreams& worker = m_workers.at(index);
  for (Stream* stream : {&worker.out, &worker.err}) {
    std::size_t budget = kDrainLimit;
    while (budget >= kReadChunk && read_once(worker, *stream)) budget -= kReadChunk;
  }
  m_stdout.flush();
  m_stderr.flush();
}

bool OutputRelay::read_once(WorkerStreams& worker, Stream& stream) {
  if (!stream.fd.valid()) return false;
  const ssize_t n = ::read(stream.fd.get(), m_buffer.get(), kReadChunk);
  if (n > 0) {
    deliver(worker, stream, std::string_view(m_buffer.get(), static_cast<std::size_t>(n)));
    return true;
  }
  if (n < 0 && errno == EINTR) return true;
  if (n < 0 && errno == EAGAIN) return false;
  if (n < 0)
    log::warn("reading {} of {}: {}", stream.is_stderr ? "stderr" : "stdout", worker.label,
              base::errno_text(errno));
  close_stream(worker, stream);  // EOF: every writer (worker and its descendants) is gone
  return false;
}

void OutputRelay::deliver(WorkerStreams& worker, Stream& stream, std::string_view data) {
  if (stream.is_stderr) worker.tail.append(data);
  write_log(worker, data);
  if (m_observer != nullptr) observe(worker, stream, data);
  if (!worker.console) return;  // hidden by SMRUN_LOG_RANKS
  std::string lines = stream.sink->buffer();
  if (!stream.lines) {
    lines.assign(data);
    stream.sink->push(std::move(lines));
    return;
  }
  // Every whole line of this read, prefixed, as one queued item: the sink writes whole lines.
  lines.reserve(data.size() + data.size() / 16);
  stream.lines->feed(data, lines);
  stream.sink->push(std::move(lines));
}

// Cuts the stream into lines at '\n' for the observer: a line that arrives whole in one read is
// passed straight from the read buffer; only a line split between reads is copied.
void OutputRelay::observe(const WorkerStreams& worker, Stream& stream, std::string_view data) {
  const auto index = static_cast<std::size_t>(&worker - m_workers.data());
  constexpr std::size_t kMax = WorkerObserver::kMaxLineBytes;
  while (!data.empty()) {
    const std::size_t nl = data.find('\n');
    const std::string_view piece = data.substr(0, nl);
    if (!stream.observed_cut) {
      const std::size_t room = kMax - stream.observed.size();
      if (nl != std::string_view::npos && stream.observed.empty()) {
        std::string_view line = piece.substr(0, std::min(piece.size(), kMax));
        if (!line.empty() && line.back() == '\r' && piece.size() <= kMax) line.remove_suffix(1);
        m_observer->on_line(index, line);
      } else {
        stream.observed.append(piece.substr(0, std::min(room, piece.size())));
        stream.observed_cut = stream.observed.size() >= kMax;
      }
    }
    if (nl == std::string_view::npos) return;
    if (!stream.observed.empty()) observe_end(worker, stream);
    stream.observed_cut = false;
    data.remove_prefix(nl + 1);
  }
}

void OutputRelay::observe_end(const WorkerStreams& worker, Stream& stream) {
  if (!stream.observed.empty() && stream.observed.back() == '\r' && !stream.observed_cut)
    stream.observed.pop_back();
  if (!stream.observed.empty())
    m_observer->on_line(static_cast<std::size_t>(&worker - m_workers.data()), stream.observed);
  stream.observed.clear();
  stream.observed_cut = false;
}

void OutputRelay::close_stream(WorkerStreams& worker, Stream& stream) {
  if (m_observer != nullptr) observe_end(worker, stream);
  if (stream.lines) {
    std::string last;
    stream.lines->finish(last);
    stream.sink->push(std::move(last));
  }
  stream.fd.reset();
}

// A regular file: written synchronously. On error the file is given up, with one warning.
void OutputRelay::write_log(WorkerStreams& worker, std::string_view data) {
  if (!worker.log_file.valid() || data.empty()) return;
  if (const int error = base::write_all(worker.log_file.get(), data); error != 0) {
    log::warn("writing the log file of {}: {}; not logging it any more", worker.label,
              base::errno_text(error));
    worker.log_file.reset();
  }
}

bool OutputRelay::reading() const {
  return std::any_of(m_workers.begin(), m_workers.end(),
                     [](const WorkerStreams& w) { return w.out.fd.valid() || w.err.fd.valid(); });
}

bool OutputRelay::flushed() const {
  return !m_stdout.pending() && !m_stderr.pending();
}

void OutputRelay::abandon() {
  m_abandoned = true;
  m_stdout.abandon();
  m_stderr.abandon();
  for (std::size_t i = 0; i < m_workers.size(); ++i) {
    drain_worker(i);
    for (Stream* stream : {&m_workers[i].out, &m_workers[i].err})
      if (stream->fd.valid()) close_stream(m_workers[i], *stream);
  }
  const std::size_t dropped = m_stdout.dropped_bytes() + m_stderr.dropped_bytes();
  if (dropped > 0)
    log::warn("{} bytes of worker output could not be relayed (stdout/stderr not read)", dropped);
}

std::string OutputRelay::stderr_tail(std::size_t index) const {
  return m_workers.at(index).tail.contents();
}

void OutputRelay::show_hidden_tail(std::size_t index) {
  WorkerStreams& worker = m_workers.at(index);
  if (worker.console) return;
  log::warn("{} failed; its output is hidden by SMRUN_LOG_RANKS, so its last lines follow",
            worker.label);
  LinePrefixer prefixer(worker.label);
  std::string lines;
  prefixer.feed(worker.tail.contents(), lines);
  prefixer.finish(lines);
  m_stderr.push(std::move(lines));
  m_stderr.flush();
}

void OutputRelay::log_line(std::string_view line) {
  if (m_abandoned) {
    (void)base::write_all(2, line);
    return;
  }
  m_stderr.push(std::string(line));
  m_stderr.flush();
}

}  // namespace smrun::supervise
