#pragma once

// The reference's TorchDistributedRunner command (torch_distributed.py), run once per host.

#include <string>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/code/entry_point.hpp"
#include "smrun/env/env_list.hpp"

namespace smrun::launch {

// The torchrun program: SMRUN_TORCHRUN when set, else {"torchrun"} (found on PATH).
struct TorchrunInputs {
  std::vector<std::string> program = {"torchrun"};  // SMRUN_TORCHRUN (Settings::torchrun)
  bool neuron_parallel_compile = false;
  int num_nodes = 1;
  int nproc_per_node = 1;
  int node_rank = 0;
  std::string master_addr;
  int master_port = 7777;
  code::EntryPointKind kind = code::EntryPointKind::kPythonProgram;
  std::string entry_point;        // the script, relative to the code dir (cwd)
  std::vector<std::string> args;  // user arguments
};

// [neuron_parallel_compile] <program> --nnodes H --nproc_per_node P
//   [--master_addr A --master_port 7777 --node_rank i   (more than one host)] script args.
// Only Python scripts: a package or a command is a kCode error with the reference's message.
base::Expected<std::vector<std::string>> torchrun_command(const TorchrunInputs& inputs);

}  // namespace smrun::launch
