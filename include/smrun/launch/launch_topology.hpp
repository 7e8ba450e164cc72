#pragma once

// Phase one of distributed planning: who launches what, where, and how many. Cheap and pure, so
// the caller can learn whether it must resolve the master's address before phase two
// (launch_plan.hpp) builds the commands.

#include <string>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/env/env_list.hpp"
#include "smrun/env/training_env.hpp"
#include "smrun/launch/launcher.hpp"

namespace smrun::launch {

inline constexpr int kDefaultMasterPort = 7777;  // the reference's torchrun/PyTorch toolkit port

struct LaunchTopology {
  LauncherChoice choice;
  std::vector<std::string>
      hosts;  // hosts of this launch in node-rank order; {current} for kProcess
  std::string current_host;
  int node_rank = 0;                     // index of current_host in hosts
  int nproc_per_node = 1;                // 1 for kProcess
  std::string master_host;               // hosts[0]
  int master_port = kDefaultMasterPort;  // SMRUN_MASTER_PORT overrides
  // SMRUN_MASTER_ADDR_IP=1 on a multi-host native/torchrun launch: the caller resolves
  // master_host and passes the address to make_launch_plan.
  bool resolve_master_addr = false;
  bool neuron_parallel_compile = false;  // prefix torchrun with neuron_parallel_compile
  bool is_master = false;
  std::vector<std::string> notes;  // decisions worth a log line

  int num_nodes() const { return static_cast<int>(hosts.size()); }
  int world_size() const { return num_nodes() * nproc_per_node; }
};

// RUN_NEURON_PARALLEL_COMPILE=1 needs one launcher per host to wrap, so a native launch chosen
// by default becomes torchrun (the reference's path); an explicit native choice is a kConfig
// error. Errors: bad SMRUN_* values, bad hyperparameters, current host not among the hosts.
base::Expected<LaunchTopology> plan_topology(const env::TrainingEnv& training,
                                             const env::EnvSnapshot& process_env);

}  // namespace smrun::launch
