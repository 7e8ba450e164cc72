#pragma once

// How a job ends, and the one place that says so. Every step of `train` returns an Outcome
// instead of logging and writing files itself; finish() scrubs secrets, logs the verdict with
// the root cause first, writes output/failure or output/success and returns the exit code.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smrun/base/error.hpp"

namespace smrun::report {

enum class OutcomeKind {
  kSuccess,        // the program succeeded (the model was packed, or packing was skipped)
  kSmrunError,     // smrun itself could not go on: config, code, install, pack, cluster, OS
  kStopped,        // a stop signal arrived before the program ran (or while installing)
  kWorkerFailed,   // the program (one of its processes) failed
  kClusterFailed,  // the job failed elsewhere in the cluster, or the cluster itself broke
};

const char* outcome_kind_name(OutcomeKind kind);

struct Outcome {
  OutcomeKind kind = OutcomeKind::kSuccess;
  int exit_code = 0;
  std::string report;  // output/failure's text, led by the one-line root cause; empty on success
};

Outcome success();
// `exit_code` replaces the error kind's code (a missing command entry point exits 127).
Outcome smrun_error(const base::Error& error, const std::string& host, std::string_view detail = {},
                    std::optional<int> exit_code = std::nullopt);
// A stop signal before `next_step` ("starting the user program"): exit 128 + signal.
Outcome stopped(int signo, std::string_view next_step, const std::string& host);
Outcome program_failed(std::string report, int exit_code,
                       OutcomeKind kind = OutcomeKind::kWorkerFailed);

struct OutcomeFiles {
  std::filesystem::path failure_file;
  std::filesystem::path success_file;
};

// Reports `outcome` once: scrubs `secrets` from everything written, logs "Reporting training
// SUCCESS" or "Reporting training FAILURE" + the root-cause line + "Encountered exit_code N",
// writes the success marker or the failure file (never over one the program wrote itself), and
// returns outcome.exit_code. Without `files` (no base dir known) nothing is written.
int finish(const Outcome& outcome, const OutcomeFiles* files,
           const std::vector<std::string>& secrets);

}  // namespace smrun::report
