#include "smrun/supervise/run_result.hpp"

#include <signal.h>

#include "smrun/base/exit_code.hpp"

namespace smrun::supervise {

int RunResult::exit_code() const {
  // Ranks dying from the teardown a peer's failure caused are not this job's root cause.
  const bool torn_down_by_peer = stop_reason && failure_after_stop && received_signal == 0;
  if (first_failure && !torn_down_by_peer) return workers.at(*first_failure).exit.exit_code;
  if (stop_reason) return base::exit_code_for_signal(SIGTERM);
  return base::kExitSuccess;
}

}  // namespace smrun::supervise
