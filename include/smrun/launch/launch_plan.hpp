#pragma once

// Phase two of launch planning: the processes THIS host starts, as exact argv/env specs, for every
// launcher (the single process is the one-rank case of the same plan, run by the same function).
// Pure: nothing is resolved, created or started here.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/env/env_list.hpp"
#include "smrun/env/training_env.hpp"
#include "smrun/launch/launch_topology.hpp"
#include "smrun/launch/process_plan.hpp"
#include "smrun/supervise/process_spec.hpp"

namespace smrun::launch {

struct PlanInputs {
  const env::TrainingEnv* training = nullptr;
  const env::EnvSnapshot* process_env = nullptr;  // smrun's inherited environment
  const ProcessPlan* process = nullptr;           // make_process_plan(): argv, cwd, SM_* env
  std::filesystem::path error_dir;                // per-process TORCHELASTIC_ERROR_FILE root
  // The master's resolved address; required when topology.resolve_master_addr.
  std::optional<std::string> master_addr_ip;
  int restart_count = 0;  // gang restarts so far (TORCHELASTIC_RESTART_COUNT of native ranks)
  int max_restarts = 0;   // TORCHELASTIC_MAX_RESTARTS of native ranks
};

struct LaunchPlan {
  LaunchTopology topology;
  // MASTER_ADDR / --master_addr: the master host name, its address (SMRUN_MASTER_ADDR_IP=1), or
  // 127.0.0.1 for a single host (torchrun's default; nothing to resolve).
  std::string master_addr;
  // What this host runs: one spec per local rank (native), one torchrun, one mpirun (MPI
  // master), none (MPI worker: mpirun reaches it over ssh), one process (kProcess). Each carries
  // its host, rank (native ranks) and TORCHELASTIC_ERROR_FILE (native ranks, torchrun); the
  // caller creates the error files' directories and reads them back after a failure.
  std::vector<supervise::ProcessSpec> processes;
  // What smrun adds to every process of this host beyond ProcessPlan::smrun_env (EFA/NCCL and
  // Neuron defaults); per-rank variables are only in the specs.
  env::EnvList added_env;
  std::vector<std::string> notes;  // topology notes plus the plan's own
  // How the processes' output reaches smrun's stdout/stderr: "[host:rank] " prefixes (off for a
  // single rank, so the single process's output is byte for byte the program's), and an optional
  // per-rank raw copy (SMRUN_LOG_PREFIX, when set, decides the prefixes; SMRUN_RANK_LOG_DIR).
  bool prefix_output = false;
  std::optional<std::filesystem::path> rank_log_dir;
};

// TORCHELASTIC_RUN_ID: TRAINING_JOB_NAME, else sagemaker_job_name, else torchrun's "none".
std::string torchelastic_run_id(const env::TrainingEnv& training);

base::Expected<LaunchPlan> make_launch_plan(const LaunchTopology& topology,
                                            const PlanInputs& inputs);

}  // namespace smrun::launch
