#include "smrun/launch/torchrun_plan.hpp"

#include "smrun/config/py_json.hpp"

namespace smrun::launch {

base::Expected<std::vector<std::string>> torchrun_program(const env::EnvSnapshot& process_env) {
  auto value = env::lookup(process_env, "SMRUN_TORCHRUN");
  if (!value || value->empty()) return std::vector<std::string>{"torchrun"};
  if (value->front() != '[') return std::vector<std::string>{*value};
  auto bad = [&](const std::string& why) {
    return base::fail(base::ErrorKind::kConfig,
                      "environment variable SMRUN_TORCHRUN='" + *value + "': " + why);
  };
  auto doc = config::parse_py_json(*value);
  if (!doc) return bad("invalid JSON (" + config::format_json_error(doc.error()) + ")");
  if (!doc->is_list() || doc->as_list().empty())
    return bad("expected a non-empty JSON array of strings");
  std::vector<std::string> program;
  for (const auto& item : doc->as_list()) {
    if (!item.is_str() || item.as_str().empty())
      return bad("expected a non-empty JSON array of non-empty strings");
    program.push_back(item.as_str());
  }
  return program;
}

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
