#include "smrun/launch/rank_plan.hpp"

namespace smrun::launch {

std::filesystem::path rank_error_file(const std::filesystem::path& error_dir, int global_rank) {
  return error_dir / ("rank-" + std::to_string(global_rank)) / "error.json";
}

env::EnvList rank_contract_env(const RankLayout& layout, const Rendezvous& rendezvous,
                               const std::filesystem::path& error_file) {
  const std::string world = std::to_string(layout.world_size());
  const std::string global = std::to_string(layout.global_rank());
  env::EnvList out;
  out.set("LOCAL_RANK", std::to_string(layout.local_rank));
  out.set("RANK", global);
  out.set("GROUP_RANK", std::to_string(layout.node_rank));
  // One role ("default") spans every worker, so role rank/size equal the global ones.
  out.set("ROLE_RANK", global);
  out.set("ROLE_NAME", "default");
  out.set("LOCAL_WORLD_SIZE", std::to_string(layout.nproc_per_node));
  out.set("WORLD_SIZE", world);
  out.set("GROUP_WORLD_SIZE", std::to_string(layout.num_nodes));
  out.set("ROLE_WORLD_SIZE", world);
  out.set("MASTER_ADDR", rendezvous.master_addr);
  out.set("MASTER_PORT", std::to_string(rendezvous.master_port));
  out.set("TORCHELASTIC_RESTART_COUNT", std::to_string(rendezvous.restart_count));
  out.set("TORCHELASTIC_MAX_RESTARTS", std::to_string(rendezvous.max_restarts));
  out.set("TORCHELASTIC_RUN_ID", rendezvous.run_id);
  out.set("TORCHELASTIC_ERROR_FILE", error_file.string());
  return out;
}

env::EnvList torchrun_worker_defaults(int nproc_per_node, const env::EnvList& existing) {
  env::EnvList out;
  for (const char* name : {"NCCL_ASYNC_ERROR_HANDLING", "TORCH_NCCL_ASYNC_ERROR_HANDLING"})
    if (!existing.contains(name)) out.set(name, "1");
  if (nproc_per_node > 1 && !existing.contains("OMP_NUM_THREADS")) out.set("OMP_NUM_THREADS", "1");
  return out;
}

std::vector<supervise::ProcessSpec> native_rank_specs(const NativeRankInputs& in) {
  const env::EnvList defaults = torchrun_worker_defaults(in.nproc_per_node, in.host_env);
  std::vector<supervise::ProcessSpec> specs;
  specs.reserve(static_cast<std::size_t>(in.nproc_per_node));
  for (int local = 0; local < in.nproc_per_node; ++local) {
    const RankLayout layout{local, in.nproc_per_node, in.node_rank, in.num_nodes};
    env::EnvList rank_env = in.host_env;
    rank_env.append(defaults);
    rank_env.append(rank_contract_env(layout, in.rendezvous,
                                      rank_error_file(in.error_dir, layout.global_rank())));
    supervise::ProcessSpec spec;
    spec.argv = in.argv;
    spec.env = rank_env.to_strings();
    spec.cwd = in.cwd;
    spec.label = in.host + ":" + std::to_string(layout.global_rank());
    spec.host = in.host;
    spec.rank = layout.global_rank();
    spec.error_file = rank_error_file(in.error_dir, layout.global_rank());
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace smrun::launch
