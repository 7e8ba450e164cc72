#include "smrun/supervise/exec_limits.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

namespace smrun::supervise {
namespace {

// Entries named one by one before "and N more": enough to see the pattern, still one line.
constexpr std::size_t kMaxNamed = 5;
// Names (flags, variable names) are user data of any length: keep the line readable.
constexpr std::size_t kMaxNameBytes = 48;

std::string shorten(const std::string& name) {
  if (name.size() <= kMaxNameBytes) return name;
  return name.substr(0, kMaxNameBytes) + "...";
}

std::string describe_argument(const std::vector<std::string>& argv, std::size_t i) {
  std::string out = "argument " + std::to_string(i);
  // "--name value": the flag says which hyperparameter the value belongs to. Only the flag is
  // shown, never the value.
  if (i >= 2 && !argv[i - 1].empty() && argv[i - 1].front() == '-')
    out += ", the value after '" + shorten(argv[i - 1]) + "'";
  return out;
}

std::string describe_variable(const std::string& entry) {
  return shorten(entry.substr(0, entry.find('=')));
}

}  // namespace

ExecLimits current_exec_limits() {
  const long page = sysconf(_SC_PAGESIZE);
  const std::size_t page_bytes = page > 0 ? static_cast<std::size_t>(page) : 4096;
  ExecLimits limits;
  limits.max_entry_bytes = 32 * page_bytes;  // MAX_ARG_STRLEN
  // fs/exec.c: a quarter of the stack soft limit, at most 3/4 of the 8 MiB _STK_LIM, at least
  // 32 pages.
  std::size_t total = 6u << 20;
  rlimit stack{};
  if (getrlimit(RLIMIT_STACK, &stack) == 0 && stack.rlim_cur != RLIM_INFINITY)
    total = std::min<std::size_t>(total, static_cast<std::size_t>(stack.rlim_cur / 4));
  limits.max_total_bytes = std::max(total, limits.max_entry_bytes);
  return limits;
}

std::string explain_argument_list_too_long(const std::vector<std::string>& argv,
                                           const std::vector<std::string>& env,
                                           const ExecLimits& limits) {
  struct Oversized {
    std::string what;
    std::size_t bytes;
  };
  std::vector<Oversized> oversized;
  std::size_t total = 0;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::size_t bytes = argv[i].size() + 1;
    total += bytes + sizeof(char*);
    if (bytes > limits.max_entry_bytes) oversized.push_back({describe_argument(argv, i), bytes});
  }
  for (const auto& entry : env) {
    const std::size_t bytes = entry.size() + 1;
    total += bytes + sizeof(char*);
    if (bytes > limits.max_entry_bytes) oversized.push_back({describe_variable(entry), bytes});
  }

  // Smallest first: SM_HPS, SM_TRAINING_ENV and SM_USER_ARGS contain the value that made them
  // too long, so the smallest offender is usually the one to shorten.
  std::stable_sort(oversized.begin(), oversized.end(),
                   [](const Oversized& a, const Oversized& b) { return a.bytes < b.bytes; });

  std::string out;
  if (!oversized.empty()) {
    out = std::to_string(oversized.size()) +
          (oversized.size() == 1 ? " entry is" : " entries are") + " longer than the " +
          std::to_string(limits.max_entry_bytes) +
          " bytes Linux allows for one argument or environment variable: ";
    for (std::size_t i = 0; i < oversized.size() && i < kMaxNamed; ++i) {
      if (i > 0) out += ", ";
      out += oversized[i].what + " (" + std::to_string(oversized[i].bytes) + " bytes)";
    }
    if (oversized.size() > kMaxNamed)
      out += ", and " + std::to_string(oversized.size() - kMaxNamed) + " more";
  }
  if (total > limits.max_total_bytes) {
    if (!out.empty()) out += "; ";
    out += "arguments and environment take " + std::to_string(total) + " bytes (" +
           std::to_string(argv.size()) + " arguments, " + std::to_string(env.size()) +
           " variables), over the " + std::to_string(limits.max_total_bytes) +
           "-byte limit (a quarter of the stack size limit, ulimit -s)";
  }
  return out;
}

}  // namespace smrun::supervise
