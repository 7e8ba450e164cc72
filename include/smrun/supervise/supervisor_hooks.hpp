#pragma once

// Lets something else (the multi-host control channel) run inside the supervisor's poll loop,
// so a peer's failure stops the local workers within milliseconds and the local events (first
// worker failure, stop signal) reach the peers without a second thread or a polling interval.

#include <poll.h>

#include <chrono>
#include <string>
#include <vector>

#include "smrun/supervise/run_result.hpp"

namespace smrun::supervise {

struct HookAction {
  bool stop = false;   // tear the local workers down, as after a local failure
  std::string reason;  // one line for logs and RunResult::stop_reason, e.g. "algo-2 failed"
  // The job finished elsewhere (an MPI worker host, whose ranks belong to the master's
  // mpirun): stop the service processes as after a normal end; not a failure. Ignored while
  // non-service workers still run or when `stop` is set.
  bool finish = false;
};

// Every method is called from run_supervised's thread, between two poll() rounds, so it must
// not block (the workers' signals and exits wait meanwhile). An exception escaping a hook is
// treated as HookAction{true, "supervisor hook failed: <what>"}.
class SupervisorHooks {
 public:
  virtual ~SupervisorHooks() = default;

  // Extra descriptors to poll, with the events wanted; asked again before every poll().
  virtual std::vector<pollfd> poll_fds() = 0;
  // How long until on_tick() is due; asked before every poll(). 0 means now.
  virtual std::chrono::milliseconds next_timeout() = 0;
  // One of poll_fds() is ready (revents != 0).
  virtual HookAction on_ready(int fd, short revents) = 0;
  // The time given by next_timeout() has passed.
  virtual HookAction on_tick() = 0;
  // The first local worker failure (non-zero exit, signal, exec failure), once per run, after
  // the other workers were sent SIGTERM. Not called when the first failure came after a stop
  // signal or a hook stop: those workers were stopped by smrun, they did not fail on their own.
  virtual void on_worker_failed(const WorkerResult& worker) = 0;
  // The first stop signal smrun received (SIGTERM/INT/HUP/QUIT), once per run, after it was
  // forwarded to the workers.
  virtual void on_stop_signal(int signo) = 0;
};

}  // namespace smrun::supervise
