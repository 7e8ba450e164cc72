#pragma once

#include <poll.h>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/base/unique_fd.hpp"
#include "smrun/supervise/line_prefixer.hpp"
#include "smrun/supervise/output_sink.hpp"
#include "smrun/supervise/stderr_tail.hpp"
#include "smrun/supervise/worker_observer.hpp"

namespace smrun::supervise {

using base::UniqueFd;

// "<log_dir>/<label>.log" with ':' and '/' in the label replaced by '-' ("algo-2:5" gives
// "algo-2-5.log").
std::filesystem::path worker_log_path(const std::filesystem::path& log_dir,
                                      const std::string& label);

// Creates log_dir and opens (appending, creating) one log file per label, in order.
base::Expected<std::vector<UniqueFd>> open_worker_logs(const std::filesystem::path& log_dir,
                                                       const std::vector<std::string>& labels);

// Everything smrun reads from its workers' pipes: their stderr always, their stdout when it is
// captured. Sends it on to smrun's own stdout/stderr (raw, or line by line as "[label] line"
// with prefix_lines), appends it raw to the worker's log file (if any), keeps the stderr tail.
// Never blocks: pipes are non-blocking, writes go through OutputSinks.
class OutputRelay {
 public:
  OutputRelay(bool prefix_lines, std::size_t tail_bytes);
  // Streams point at the sinks inside: neither copied nor moved.
  OutputRelay(const OutputRelay&) = delete;
  OutputRelay& operator=(const OutputRelay&) = delete;

  // Worker i is the i-th added. stdout_fd may be invalid (inherited stdout), log_file too.
  // `console` false: its output goes only to its tail and log file (SMRUN_LOG_RANKS).
  // `nested`: the worker is an smrun whose rank lines are already prefixed (LinePrefixer).
  void add_worker(const std::string& label, UniqueFd stdout_fd, UniqueFd stderr_fd,
                  UniqueFd log_file, std::optional<RankHosts> rank_hosts = {}, bool console = true,
                  bool nested = false);

  // Every line each worker writes to a captured pipe also goes to observer->on_line() (cut as
  // WorkerObserver says), whether it is shown on the console or not. Null: no line is looked
  // at (nothing is spent on it).
  void observe_lines(WorkerObserver* observer) { m_observer = observer; }

  // Appends the descriptors to poll (pipes with room in their sink, sinks with queued output)
  // and remembers where they are; handle() takes the same vector after poll().
  void add_poll_fds(std::vector<pollfd>& fds);
  void handle(const std::vector<pollfd>& fds);

  // Reads what worker i's pipes hold right now, up to a bound, ignoring backpressure: called
  // when the worker was reaped, so its last words are in its tail before anyone looks.
  void drain_worker(std::size_t index);

  // Some pipe is still open (a writer may be alive).
  bool reading() const;
  // No output waits to be written.
  bool flushed() const;
  // Shutdown with a stalled reader or a pipe that never reaches EOF: reads what is there (for
  // the tails and log files), closes every pipe and drops what cannot be written.
  void abandon();

  std::string stderr_tail(std::size_t index) const;
  // For a hidden worker (console false): its stderr tail, each line with its "[label] " prefix,
  // queued on stderr after a line that says why it is shown. No-op for a shown worker.
  void show_hidden_tail(std::size_t index);

  // One of smrun's own log lines (ending in '\n'), queued on stderr behind the workers' output
  // and written without blocking like it. After abandon() it is written directly (blocking).
  void log_line(std::string_view line);
  // The end of supervision: writes smrun's queued lines (blocking) and logs any sink failure.
  void finish_log();

 private:
  struct Stream {
    UniqueFd fd;
    OutputSink* sink = nullptr;
    std::optional<LinePrefixer> lines;  // set with prefix_lines
    std::string observed;               // the observed line so far (m_observer set)
    bool observed_cut = false;          // it reached kMaxLineBytes: the rest is skipped
    bool is_stderr = false;
  };
  struct WorkerStreams {
    std::string label;
    bool console = true;
    Stream out;
    Stream err;
    UniqueFd log_file;
    StderrTail tail;
  };
  enum class PollKind { kStream, kSink };
  struct PollEntry {
    PollKind kind;
    std::size_t worker = 0;      // kStream
    bool is_stderr = false;      // kStream
    OutputSink* sink = nullptr;  // kSink
  };

  // false when nothing more can be read now (EAGAIN, or the pipe closed at EOF or error).
  bool read_once(WorkerStreams& worker, Stream& stream);
  void deliver(WorkerStreams& worker, Stream& stream, std::string_view data);
  void close_stream(WorkerStreams& worker, Stream& stream);
  void observe(const WorkerStreams& worker, Stream& stream, std::string_view data);
  void observe_end(const WorkerStreams& worker, Stream& stream);
  void write_log(WorkerStreams& worker, std::string_view data);
  void report_sink_failures();

  bool m_prefix_lines;
  std::size_t m_tail_bytes;
  // A container's stdout and stderr pipes are grown to 1 MiB (see OutputSink).
  static constexpr std::size_t kSinkPipeSize = std::size_t{1} << 20;
  OutputSink m_stdout{1, kSinkPipeSize};
  OutputSink m_stderr{2, kSinkPipeSize};
  std::vector<WorkerStreams> m_workers;
  // Not value-initialised: zeroing 256 KiB faulted in 64 pages before the first worker ran
  // (about 1 ms of a no-op job's start-up on the machine of record); read() touches only what
  // it fills.
  std::unique_ptr<char[]> m_buffer;
  std::size_t m_poll_base = 0;
  std::vector<PollEntry> m_polled;
  bool m_abandoned = false;
  WorkerObserver* m_observer = nullptr;
};

}  // namespace smrun::supervise
