#pragma once

// The reference's TorchDistributedRunner command (torch_distributed.py), run once per host.

#include <string>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/code/entry_point.hpp"
#include "smrun/env/env_list.hpp"

namespace smrun::launch {

// The torchrun program: SMRUN_TORCHRUN when set, else {"torchrun"} (found on PATH).
// SMRUN_TORCHRUN is either a JSON array of strings, the whole argv prefix
// (e.g. ["/usr/bin/python3","-m","torch.distributed.run","--redirects","2","--tee","1"]: Debian's
// torch 1.13 on Python 3.11 crashes unless both flags are given single-stream values 1 or 2;
// 0 and 3 fail), or any other text,
// taken as one program path (never split on spaces). Invalid JSON or an empty or non-string
// array is a kConfig error naming the variable.
base::Expected<std::vector<std::string>> torchrun_program(const env::EnvSnapshot& process_env);

struct TorchrunInputs {
  std::vector<std::string> program = {"torchrun"};  // torchrun_program()
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
