#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace smrun::supervise {

// Rank r runs on hosts[r / processes_per_host] (mpirun -map-by slot).
struct RankHosts {
  std::vector<std::string> hosts;
  int processes_per_host = 1;
};

// Everything needed to start one worker process; nothing is read from smrun's own environment.
struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] without '/' is searched in env's PATH
  std::vector<std::string> env;   // the worker's full environment, "KEY=VALUE" items
  std::filesystem::path cwd;      // empty: inherit smrun's working directory
  std::string label;              // e.g. "algo-1:0", used in logs and reports
  // Where and what it is in the job, as the plan made it (never parsed back from the label).
  std::string host;                  // the host it runs on ("algo-1"); empty for tests
  std::optional<int> rank;           // its global rank, for processes that are one rank
  std::filesystem::path error_file;  // TORCHELASTIC_ERROR_FILE it writes on failure, or empty
  // A helper daemon that lives as long as the job (the SSH daemon of an MPI host), not a part
  // of the job's work: it is stopped once every non-service process has ended (or, on a host
  // with only services, when a hook says the job finished), and that stop is not a failure.
  // Ending on its own before that is a failure like any worker's.
  bool service = false;
  // Its output reaches smrun's stdout/stderr (SMRUN_LOG_RANKS hides some ranks: their output
  // still goes to their log file and stderr tail, and a hidden process that fails first has its
  // last output shown).
  bool console = true;
  // It is itself an smrun (`smrun local` runs one per host) whose rank lines already read
  // "[<label>:<rank>] ...": when output is prefixed, those keep their prefix alone and only its
  // other lines (smrun's own log) get "[<label>] ".
  bool nested_labels = false;
  // For mpirun run with --tag-output: where each rank lives, so prefixed output lines read
  // "[algo-2:3] ..." like the other launchers' instead of "[algo-1:mpirun] [1,3]<stdout>:...".
  std::optional<RankHosts> rank_hosts;
};

}  // namespace smrun::supervise
