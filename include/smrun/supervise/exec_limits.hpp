#pragma once

// Why execve() said E2BIG ("Argument list too long"), in terms a user can act on. Linux refuses
// an exec when any single argument or environment entry is longer than MAX_ARG_STRLEN (32 pages,
// 128 KiB), or when all of them together exceed a quarter of the stack limit. A 1 MB
// hyperparameter hits the first (its --name value, SM_HP_NAME, SM_HPS and SM_TRAINING_ENV are
// each too long); 100 000 hyperparameters hit both.

#include <cstddef>
#include <string>
#include <vector>

namespace smrun::supervise {

struct ExecLimits {
  std::size_t max_entry_bytes = 0;  // one argument or "NAME=VALUE", with its NUL
  std::size_t max_total_bytes = 0;  // every string with its NUL, plus one pointer each
};

// The limits the kernel applies to this process's next execve (page size, RLIMIT_STACK).
ExecLimits current_exec_limits();

// One line naming what is over which limit: the arguments (by position, and the flag before a
// value, e.g. "argument 4 (the value after '--big')") and the environment variables (by name)
// that are too long, largest sizes included; or the total size and counts. Never contains a
// value, so it is safe to log even when the entry is a secret. Empty when nothing is over.
std::string explain_argument_list_too_long(const std::vector<std::string>& argv,
                                           const std::vector<std::string>& env,
                                           const ExecLimits& limits);

}  // namespace smrun::supervise
