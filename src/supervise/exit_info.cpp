#include "smrun/supervise/exit_info.hpp"

#include <sys/wait.h>

#include "smrun/base/exit_code.hpp"
#include "smrun/supervise/signals.hpp"

namespace smrun::supervise {

ExitInfo decode_wait_status(int status) {
  ExitInfo info;
  if (WIFSIGNALED(status)) {
    info.signal = WTERMSIG(status);
    info.exit_code = base::exit_code_for_signal(info.signal);
    info.core_dumped = WCOREDUMP(status);
  } else {
    info.exit_code = WEXITSTATUS(status);
  }
  return info;
}

bool failed(const ExitInfo& exit) {
  return exit.exit_code != 0 || exit.signal != 0;
}

std::string describe(const ExitInfo& exit) {
  if (exit.signal == 0) return "exit code " + std::to_string(exit.exit_code);
  std::string text = "signal " + signal_name(exit.signal);
  if (exit.core_dumped) text += " (core dumped)";
  return text;
}

}  // namespace smrun::supervise
