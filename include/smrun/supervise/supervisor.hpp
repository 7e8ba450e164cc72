#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/supervise/process_spec.hpp"
#include "smrun/supervise/run_result.hpp"
#include "smrun/supervise/supervisor_hooks.hpp"
#include "smrun/supervise/worker_observer.hpp"

namespace smrun::supervise {

struct SuperviseOptions {
  std::chrono::seconds grace{110};  // between SIGTERM and SIGKILL
  std::size_t stderr_tail_bytes = 64 * 1024;
  // Polled inside the loop (the multi-host control channel); not owned, may be null.
  SupervisorHooks* hooks = nullptr;
  // Follows the workers (metrics): their starts, exits and output lines; not owned, may be null.
  WorkerObserver* observer = nullptr;
  // Multi-rank jobs: every worker's stdout and stderr are piped, and each line goes to smrun's
  // stdout / stderr as "[<label>] <line>" (see LinePrefixer, OutputSink). Off: stdout is
  // inherited and stderr relayed raw.
  bool prefix_output = false;
  // When set, each worker's raw output (stdout and stderr, in arrival order) is also appended to
  // <log_dir>/<label, ':' -> '-'>.log; the directory is created. Pipes stdout as well.
  std::optional<std::filesystem::path> log_dir = std::nullopt;
  // Off: a failed worker does not stop the others. `smrun local` runs one smrun per host, and
  // each host stops its own ranks and reports the job's verdict through the cluster channel.
  bool fail_fast = true;
};

// Starts every spec and supervises them as PID 1 would, until no child of this process remains:
// - forwards SIGTERM/INT/HUP/QUIT/USR1/USR2 to every worker's process group; a stop signal
//   starts the grace period, after which remaining groups get SIGKILL;
// - reaps every child, orphans included, recording results only for the workers;
// - gang semantics (fail_fast): when one worker fails, the others' groups get SIGTERM, then
//   SIGKILL; a hook returning HookAction::stop does the same;
// - when a worker's leader exits, what is left of its group gets SIGTERM, then SIGKILL;
// - service specs (ProcessSpec::service) are stopped once every other worker has ended, or
//   when a hook returns HookAction::finish on a run that has only services; that stop is not
//   a failure (a run of only services and no hooks stops them at once);
// - once all workers are done, other leftover children get SIGTERM, then SIGKILL;
// - relays each worker's stderr (and stdout, when captured) without blocking, keeps its
//   stderr tail, and waits up to a few seconds at the end for a stalled stdout/stderr reader.
// Requires block_supervised_signals() to have run before any thread started. While it runs it
// owns every child of the process: nothing else may spawn or wait for children. Call it from
// the main thread: workers get PR_SET_PDEATHSIG, which fires when the spawning THREAD exits.
// Fails only for smrun's own problems (fork, pipe, signalfd, log_dir); worker failures are in
// the result.
base::Expected<RunResult> run_supervised(const std::vector<ProcessSpec>& specs,
                                         const SuperviseOptions& options);

}  // namespace smrun::supervise
