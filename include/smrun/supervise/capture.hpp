#pragma once

// Runs a short-lived tool (nvidia-smi, neuron-ls) through the one spawner and collects its
// stdout, with a hard time limit: start-up must stay bounded even on a wedged driver.

#include <chrono>
#include <string>

#include "smrun/base/expected.hpp"
#include "smrun/supervise/process_spec.hpp"

namespace smrun::supervise {

struct CaptureResult {
  int exit_code = -1;      // 128 + signal when killed (also after the time limit)
  bool timed_out = false;  // the tool (its whole process group) was killed at the limit
  std::string out;         // its stdout; stderr is read and dropped
};

// Fails only when the tool cannot be started at all (exec failure is a result: 126/127).
base::Expected<CaptureResult> run_and_capture(const ProcessSpec& spec,
                                              std::chrono::milliseconds limit);

}  // namespace smrun::supervise
