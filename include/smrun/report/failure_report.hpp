#pragma once

// /opt/ml/output/failure: SageMaker shows its first 1024 characters as the job's FailureReason,
// so the text starts with one line that says what died, where and how, then the exception line,
// then just enough stderr tail to fill that window; the longer tail follows for the curious.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smrun/base/error.hpp"

namespace smrun::report {

inline constexpr std::size_t kFailureReasonWindow = 1024;

// Everything known about the process whose failure is the job's root cause.
struct FailureFacts {
  std::string host;         // "algo-1"
  std::optional<int> rank;  // global rank for distributed jobs
  std::string program;      // entry point as the user named it ("train.py")
  int exit_code = 0;        // process exit status (meaningful when signal == 0)
  int signal = 0;           // terminating signal, 0 if it exited
  bool core_dumped = false;
  bool killed_after_grace = false;          // smrun had to SIGKILL it after the grace period
  bool killed_on_second_interrupt = false;  // SIGKILLed because Ctrl-C was pressed twice
  int grace_seconds = 0;
  int received_signal = 0;  // signal smrun itself received (e.g. SIGTERM from the platform)
  std::string stderr_tail;  // raw bytes, already scrubbed of secrets by the caller
  std::string command;      // redacted command line, for the reader
  std::optional<std::string> error_detail;  // e.g. a torchelastic error-file message
};

// The exception line of the last Python traceback in `stderr_tail` ("ValueError: bad lr"), or
// the last non-empty line when there is no traceback.
std::string exception_line(std::string_view stderr_tail);

// The lines of a tool's output that say what went wrong ("ERROR: ..." as pip, "error: ..." as
// setuptools and compilers print them), the last `max_lines` of them in order; empty when there
// are none. Retry and deprecation warnings around them are left out.
std::vector<std::string> error_lines(std::string_view output, std::size_t max_lines = 5);

std::string compose_failure_report(const FailureFacts& facts);

// smrun's own failures (bad config, download, install): "<ErrorName>: <message>".
std::string compose_error_report(const base::Error& error, const std::string& host,
                                 std::string_view detail = {});

// Replaces every occurrence of each secret value (of 4+ characters) with "****".
std::string scrub_secrets(std::string text, const std::vector<std::string>& secret_values);

}  // namespace smrun::report
