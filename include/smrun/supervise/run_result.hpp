#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "smrun/supervise/exit_info.hpp"

namespace smrun::supervise {

struct WorkerResult {
  std::size_t index = 0;  // position of its ProcessSpec in the list given to the supervisor
  std::string label;
  pid_t pid = -1;
  ExitInfo exit;
  bool exec_failed = false;  // never ran the program: exit.exit_code is 127 or 126
  std::string exec_error;    // one line, set when exec_failed
  std::string stderr_tail;   // last SuperviseOptions::stderr_tail_bytes of its stderr
  std::chrono::system_clock::time_point ended_at;  // when smrun reaped it
};

struct RunResult {
  std::vector<WorkerResult> workers;         // same order as the specs
  std::optional<std::size_t> first_failure;  // index of the first worker reaped with a failure
  int received_signal = 0;  // first stop signal smrun got (SIGTERM/INT/HUP/QUIT), e.g. platform
  // The first failure came after received_signal: it is the shutdown, not the cause.
  bool failure_after_signal = false;
  bool killed_after_grace = false;  // something had to be SIGKILLed after the grace period
  // A second SIGINT (Ctrl-C pressed again) SIGKILLed every worker without waiting for the grace.
  bool killed_on_second_interrupt = false;
  // Why a SupervisorHooks action stopped the workers (the first one), e.g. a peer host failed.
  std::optional<std::string> stop_reason;
  // The first failure came after stop_reason: it is the teardown, not the cause.
  bool failure_after_stop = false;

  // The job verdict is the program's own verdict (README "Exit codes"):
  // - the first failure's exit code (128 + signal when killed), also after a forwarded stop
  //   signal: a handler that exits 3 gives 3, a program SIGKILLed after the grace gives 137;
  // - 128 + SIGTERM (143) when only a hook stopped the run (peers failed): the workers were
  //   cut short, so the job did not succeed even if they exited 0 (a multi-host CLI reports
  //   the cluster's common verdict instead);
  // - otherwise 0 (including workers that exited 0 after a forwarded stop signal).
  int exit_code() const;
};

}  // namespace smrun::supervise
