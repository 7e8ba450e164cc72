#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace smrun::supervise {

// Everything needed to start one worker process; nothing is read from smrun's own environment.
struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] without '/' is searched in env's PATH
  std::vector<std::string> env;   // the worker's full environment, "KEY=VALUE" items
  std::filesystem::path cwd;      // empty: inherit smrun's working directory
  std::string label;              // e.g. "algo-1:0", used in logs and reports
};

}  // namespace smrun::supervise
