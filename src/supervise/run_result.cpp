#include "smrun/supervise/run_result.hpp"

#include "smrun/base/exit_code.hpp"

namespace smrun::supervise {

int RunResult::exit_code() const {
  if (!first_failure) return base::kExitSuccess;
  if (received_signal != 0 && failure_after_signal)
    return base::exit_code_for_signal(received_signal);
  return workers.at(*first_failure).exit.exit_code;
}

}  // namespace smrun::supervise
