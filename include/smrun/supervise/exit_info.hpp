#pragma once

#include <string>

namespace smrun::supervise {

struct ExitInfo {
  int exit_code = 0;  // WEXITSTATUS, or 128 + signal (shell convention)
  int signal = 0;     // terminating signal, 0 if the process exited
  bool core_dumped = false;
};

// Decodes a waitpid() status of a process that has terminated.
ExitInfo decode_wait_status(int status);

bool failed(const ExitInfo& exit);

// "exit code 3" / "signal SIGKILL (core dumped)" for logs.
std::string describe(const ExitInfo& exit);

}  // namespace smrun::supervise
