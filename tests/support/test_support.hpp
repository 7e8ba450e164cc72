#pragma once

// Helpers shared by every test binary: temp dirs that clean up, file I/O, and running a real
// process with a hard time limit (tests are bounded; a hung child is killed, not waited for).

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace smrun::test {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return m_path; }
  fs::path operator/(const std::string& rel) const { return m_path / rel; }

 private:
  fs::path m_path;
};

void write_file(const fs::path& path, const std::string& content, bool executable = false);
std::string read_file(const fs::path& path);

struct ProcessResult {
  int exit_code = -1;   // exit status, or -1 if killed by a signal
  int term_signal = 0;  // signal number if killed by one
  bool timed_out = false;
  // Peak resident set size in KiB (wait4's ru_maxrss): the largest of the process and every
  // descendant it waited for, so a test can bound the memory of smrun and what it ran.
  long max_rss_kb = 0;
  std::string out;
  std::string err;
};

struct ProcessOptions {
  std::vector<std::string> argv;
  // Full environment of the child. When empty, the test's own environment is inherited.
  std::optional<std::map<std::string, std::string>> env;
  fs::path cwd;
  std::chrono::milliseconds timeout{30000};
  std::string stdin_data;
};

ProcessResult run_process(const ProcessOptions& options);

// The current environment as a map (for tests that tweak a few variables).
std::map<std::string, std::string> current_environment();

// Paths baked in by CMake.
fs::path smrun_binary();
fs::path source_dir();
// tests/data: the acceptance vectors and SDK samples, copied into the repository.
fs::path test_data_dir();

}  // namespace smrun::test
