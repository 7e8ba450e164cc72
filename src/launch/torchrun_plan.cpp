#include "smrun/launch/torchrun_plan.hpp"

namespace smrun::launch {

base::Expected<std::vector<std::string>> torchrun_command(const TorchrunInputs& in) {
  if (in.kind == code::EntryPointKind::kPythonPackage)
    return base::fail(base::ErrorKind::kCode,
                      "Python packages are not supported for torch_distributed. Please use a "
                      "python script as the entry-point");
  if (in.kind != code::EntryPointKind::kPythonProgram)
    return base::fail(base::ErrorKind::kCode, "Unsupported entry point type for torch_distributed");

  std::vector<std::string> cmd;
  if (in.neuron_parallel_compile) cmd.push_back("neuron_parallel_compile");
  cmd.insert(cmd.end(), in.program.begin(), in.program.end());
  cmd.insert(cmd.end(), {"--nnodes", std::to_string(in.num_nodes), "--nproc_per_node",
                         std::to_string(in.nproc_per_node)});
  // One host: torchrun's own defaults (127.0.0.1:29500), as in the reference.
  if (in.num_nodes > 1)
    cmd.insert(cmd.end(),
               {"--master_addr", in.master_addr, "--master_port", std::to_string(in.master_port),
                "--node_rank", std::to_string(in.node_rank)});
  cmd.push_back(in.entry_point);
  cmd.insert(cmd.end(), in.args.begin(), in.args.end());
  return cmd;
}

}  // namespace smrun::launch
