#include "smrun/supervise/exec_path.hpp"

namespace smrun::supervise {

std::string path_of(const std::vector<std::string>& env) {
  // The last definition wins, as getenv() in the worker would not see duplicates anyway and
  // execve passes them in order.
  const std::string_view prefix = "PATH=";
  std::string path(kDefaultExecPath);
  for (const auto& item : env)
    if (std::string_view(item).substr(0, prefix.size()) == prefix)
      path = item.substr(prefix.size());
  return path;
}

std::vector<std::string> exec_candidates(const std::string& program, std::string_view path) {
  if (program.empty()) return {};
  if (program.find('/') != std::string::npos) return {program};
  std::vector<std::string> candidates;
  std::size_t start = 0;
  while (true) {
    std::size_t colon = path.find(':', start);
    std::string_view dir =
        path.substr(start, colon == std::string_view::npos ? colon : colon - start);
    if (dir.empty())
      candidates.push_back(program);  // empty entry: the current directory (the worker's cwd)
    else if (dir.back() == '/')
      candidates.push_back(std::string(dir) + program);
    else
      candidates.push_back(std::string(dir) + "/" + program);
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  return candidates;
}

}  // namespace smrun::supervise
