#pragma once

// The native gang launcher's plan for one host: one process per local rank, each with
// torchrun's worker environment (distributed.md §1.1/§1.8) so torch.distributed's env:// init,
// is_torchelastic_launched() and torch-xla's Neuron plugin behave as under torchrun.

#include <filesystem>
#include <string>
#include <vector>

#include "smrun/env/env_list.hpp"
#include "smrun/supervise/process_spec.hpp"

namespace smrun::launch {

struct RankLayout {
  int local_rank = 0;
  int nproc_per_node = 1;
  int node_rank = 0;
  int num_nodes = 1;

  int global_rank() const { return node_rank * nproc_per_node + local_rank; }
  int world_size() const { return num_nodes * nproc_per_node; }
};

struct Rendezvous {
  std::string master_addr;
  int master_port = 0;
  std::string run_id;     // TORCHELASTIC_RUN_ID: the job name
  int restart_count = 0;  // TORCHELASTIC_RESTART_COUNT: gang restarts so far
  int max_restarts = 0;   // TORCHELASTIC_MAX_RESTARTS (SMRUN_MAX_RESTARTS)
};

// <error_dir>/rank-<global rank>/error.json. The directory must exist before the rank starts
// (torch's @record opens the file without creating directories).
std::filesystem::path rank_error_file(const std::filesystem::path& error_dir, int global_rank);

// Exactly what torchrun sets for a worker, in torchrun's order:
// LOCAL_RANK, RANK, GROUP_RANK, ROLE_RANK, ROLE_NAME=default, LOCAL_WORLD_SIZE, WORLD_SIZE,
// GROUP_WORLD_SIZE, ROLE_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_RESTART_COUNT,
// TORCHELASTIC_MAX_RESTARTS, TORCHELASTIC_RUN_ID, TORCHELASTIC_ERROR_FILE. Never
// TORCHELASTIC_USE_AGENT_STORE: smrun hosts no TCPStore, rank 0's env:// init does.
env::EnvList rank_contract_env(const RankLayout& layout, const Rendezvous& rendezvous,
                               const std::filesystem::path& error_file);

// The defaults torchrun gives workers when the variable is not in `existing`:
// NCCL_ASYNC_ERROR_HANDLING=1 (torch 1.13's name), TORCH_NCCL_ASYNC_ERROR_HANDLING=1 (2.x),
// and OMP_NUM_THREADS=1 when more than one rank shares the host.
env::EnvList torchrun_worker_defaults(int nproc_per_node, const env::EnvList& existing);

struct NativeRankInputs {
  std::vector<std::string> argv;  // the single-process command (make_process_plan)
  std::filesystem::path cwd;
  env::EnvList host_env;  // inherited env + smrun's SM_* + network defaults, shared by all ranks
  std::string host;       // for labels: "<host>:<global rank>"
  int nproc_per_node = 1;
  int node_rank = 0;
  int num_nodes = 1;
  Rendezvous rendezvous;
  std::filesystem::path error_dir;
};

// One spec per local rank, local rank order.
std::vector<supervise::ProcessSpec> native_rank_specs(const NativeRankInputs& inputs);

}  // namespace smrun::launch
