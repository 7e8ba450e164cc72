#include "smrun/supervise/run_result.hpp"

#include <signal.h>

#include "smrun/base/exit_code.hpp"

namespace smrun::supervise {

int RunResult::exit_code() const {
  const bool after_signal = received_signal != 0 && failure_after_signal;
  if (first_failure && !after_signal && !failure_after_stop)
    return workers.at(*first_failure).exit.exit_code;
  if (first_failure && after_signal) return base::exit_code_for_signal(received_signal);
  if (stop_reason) return base::exit_code_for_signal(SIGTERM);
  return base::kExitSuccess;
}

}  // namespace smrun::supervise
