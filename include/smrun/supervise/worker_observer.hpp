#pragma once

// Lets something else follow the workers of a supervision run (metrics: the values in their
// output lines, their CPU and memory) without a say in it: told when each starts and ends, and
// handed every line of their output.

#include <sys/types.h>

#include <cstddef>
#include <string_view>

#include "smrun/supervise/process_spec.hpp"

namespace smrun::supervise {

// Every method is called from run_supervised's thread, inside its loop: it must be quick and
// must not block (no waiting on locks held for long, no reading pipes), or the relay, signal
// forwarding and reaping wait. Worker indices are the specs' order within one run.
class WorkerObserver {
 public:
  // Only this much of a line reaches on_line(): the rest of a longer line is not passed.
  static constexpr std::size_t kMaxLineBytes = 4096;

  virtual ~WorkerObserver() = default;

  // Whether on_line() is wanted. When it is, every worker's stdout is captured (and relayed
  // unchanged), like with SuperviseOptions::log_dir. Asked once, when the run starts.
  virtual bool wants_lines() const = 0;
  // The worker was started (exec succeeded): `pid` leads its process group.
  virtual void on_started(std::size_t worker, const ProcessSpec& spec, pid_t pid) = 0;
  // One line of the worker's stdout or stderr, in the order read from each pipe, without its
  // terminator ("\n" or "\r\n"), at most kMaxLineBytes of it. An unfinished last line is
  // passed when its pipe closes.
  virtual void on_line(std::size_t worker, std::string_view line) = 0;
  // The worker was reaped (its pid may be reused from now on).
  virtual void on_exited(std::size_t worker) = 0;
};

}  // namespace smrun::supervise
