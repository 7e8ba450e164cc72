#pragma once

// End-to-end fixture: a throw-away /opt/ml tree (SAGEMAKER_BASE_DIR) plus helpers that run the
// real smrun binary on it with a clean, explicit environment, so every value a test sees comes
// from the tree and the variables the test chose, never from the machine running the tests.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace smrun::test::e2e {

namespace fs = std::filesystem;
using Env = std::map<std::string, std::string>;
using namespace std::chrono_literals;

// Python's json.dumps(value) with its defaults (ensure_ascii, ", " / ": " separators): how the
// SageMaker SDK serialises each hyperparameter value into hyperparameters.json.
std::string sdk_json_dumps(const nlohmann::ordered_json& value);

// json.dumps(value, sort_keys=True, separators=(",", ":")): the reference's SM_* JSON format.
std::string compact_sorted_json(const nlohmann::json& value);

class JobDir {
 public:
  // Creates <tmp>/opt_ml with input/config/ and an empty code/ dir, and a single-host
  // resourceconfig.json ({"current_host":"algo-1","hosts":["algo-1"]}).
  JobDir();

  const fs::path& base() const { return m_base; }
  fs::path code_dir() const { return m_base / "code"; }
  fs::path model_dir() const { return m_base / "model"; }
  fs::path output_dir() const { return m_base / "output"; }
  fs::path config_dir() const { return m_base / "input" / "config"; }
  fs::path success_file() const { return output_dir() / "success"; }
  fs::path failure_file() const { return output_dir() / "failure"; }
  fs::path default_archive() const { return output_dir() / "model.tar.gz"; }
  // A directory outside the /opt/ml tree for probe output, markers and tarballs.
  fs::path scratch() const { return m_scratch; }

  // hyperparameters.json with each value stored exactly as given (a JSON string holding what
  // the SDK would have json.dumps'd, e.g. {"lr": "0.1", "opt": "\"adam\""}).
  void write_hyperparameters(const std::map<std::string, std::string>& raw_values) const;
  // hyperparameters.json the way the SDK writes it: every decoded value json.dumps'd.
  void write_sdk_hyperparameters(const nlohmann::ordered_json& decoded) const;
  void write_hyperparameters_json(const std::string& text) const;
  void write_resource_config(const std::string& text) const;
  void write_input_data_config(const std::string& text) const;
  void write_checkpoint_config(const std::string& text) const;
  void write_code_file(const std::string& rel, const std::string& content,
                       bool executable = false) const;

  // PATH, HOME, SAGEMAKER_BASE_DIR, SMRUN_PYTHON=/usr/bin/python3, SMRUN_NUM_CPUS=4,
  // SMRUN_NUM_GPUS=0, SMRUN_NUM_NEURONS=0, E2E_SCRATCH, AWS_EC2_METADATA_DISABLED=true, overlaid
  // with `extra` (an empty value in `extra` sets the variable to ""; use without() to drop one).
  Env environment(const Env& extra = {}) const;

  ProcessResult run_smrun(const std::vector<std::string>& args, const Env& env,
                          std::chrono::milliseconds timeout = 90s) const;
  ProcessResult run_train(const Env& extra = {}, std::chrono::milliseconds timeout = 90s) const;
  // `smrun train` in a private mount namespace after `mount <mount_args...>` (root only), e.g.
  // {"--bind", "-o", "ro", dir, dir} or {"-t", "tmpfs", "-o", "size=1m", "smrun-test", dir}.
  ProcessResult run_train_after_mount(const std::vector<std::string>& mount_args,
                                      const Env& extra = {},
                                      std::chrono::milliseconds timeout = 60s) const;
  ProcessResult run_env(const std::vector<std::string>& args = {}, const Env& extra = {},
                        std::chrono::milliseconds timeout = 60s) const;

 private:
  TempDir m_tmp;
  fs::path m_base;
  fs::path m_scratch;
};

// env without the named variables.
Env without(Env env, const std::vector<std::string>& names);

// A Python entry point that records sys.argv, os.environ, cwd and sys.path as JSON to
// $E2E_PROBE_OUT, writes $SM_MODEL_DIR/model.txt ("weights") and
// $SM_MODEL_DIR/sub/extra.bin, and exits 0.
extern const char* const kPythonProbe;
// The probe's record, parsed. Fails the test (ADD_FAILURE) and returns null if missing.
nlohmann::json read_probe(const fs::path& path);

// Splits a file of NUL-terminated records.
std::vector<std::string> read_nul_records(const fs::path& path);

// Member names of a .tar.gz, listed by the system tar, with any leading "./" removed and
// directory entries (trailing "/") dropped. Fails the test if tar fails.
std::vector<std::string> tar_members(const fs::path& archive);

// Waits until `path` exists, up to `timeout`. Returns whether it appeared.
bool wait_for_file(const fs::path& path, std::chrono::milliseconds timeout);

// Every path below `root` (relative, sorted), with its size for regular files: a snapshot to
// check that a dry run created and changed nothing.
std::vector<std::string> tree_snapshot(const fs::path& root);

// PIDs of live processes whose command line contains `marker` (scans /proc/*/cmdline).
std::vector<pid_t> processes_with_marker(const std::string& marker);

// The first line of `text` (without the newline).
std::string first_line(const std::string& text);
// Line `index` (0-based) of `text`, or "" when there are fewer lines.
std::string line_at(const std::string& text, std::size_t index);

// A venv at `dir` for jobs that pip-install without network: borrows Debian's pip and
// setuptools (--system-site-packages, a fraction of a second), falling back to ensurepip.
// Returns whether its pip runs; `log` collects the output either way.
bool make_pip_venv(const fs::path& dir, std::string& log);
// `extra` plus what a job needs to install into `venv` offline: SMRUN_PYTHON, PIP_NO_INDEX,
// no build isolation, no version check, no cache.
Env offline_pip_env(const fs::path& venv, Env extra = {});

// smrun (or anything) started in the background, so a test can signal it while it runs.
// stdout and stderr go to files; the destructor SIGKILLs the process group if still running.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& argv, const Env& env,
                    const fs::path& stdout_file, const fs::path& stderr_file);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return m_pid; }
  // Waits up to `timeout` for the process to exit. Returns nullopt on timeout (still running).
  std::optional<ProcessResult> wait_for(std::chrono::milliseconds timeout);

 private:
  pid_t m_pid = -1;
  int m_pidfd = -1;
  bool m_reaped = false;
  fs::path m_stdout_file;
  fs::path m_stderr_file;
};

}  // namespace smrun::test::e2e
