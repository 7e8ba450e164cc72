#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace smrun::supervise {

// Used when the worker's environment has no PATH (glibc's confstr(_CS_PATH) plus /usr/local).
inline constexpr std::string_view kDefaultExecPath = "/usr/local/bin:/usr/bin:/bin";

// The value of PATH in a "KEY=VALUE" environment list, or kDefaultExecPath when absent.
std::string path_of(const std::vector<std::string>& env);

// The files execve() should try, in order, for `program` (execvp rules, but with the WORKER's
// PATH rather than smrun's): a program containing '/' is used as is; otherwise each PATH entry
// joined with it, an empty entry meaning the current directory.
std::vector<std::string> exec_candidates(const std::string& program, std::string_view path);

}  // namespace smrun::supervise
