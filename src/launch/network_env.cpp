#include "smrun/launch/network_env.hpp"

#include "smrun/launch/instance_profile.hpp"

namespace smrun::launch {
namespace {

void set_unless_present(env::EnvList& out, const env::EnvSnapshot& process_env, const char* name,
                        std::string value) {
  if (!env::lookup(process_env, name)) out.set(name, std::move(value));
}

}  // namespace

env::EnvList torch_network_env(std::string_view instance_type, const std::string& interface_name,
                               const env::EnvSnapshot& process_env) {
  env::EnvList out;
  const auto profile = instance_profile(instance_type);
  if (profile && profile->efa) set_unless_present(out, process_env, "FI_PROVIDER", "efa");
  if (profile && profile->device_rdma) {
    set_unless_present(out, process_env, "FI_EFA_USE_DEVICE_RDMA", "1");
    // RDMA without fork safety crashed DataLoader workers (toolkit PR #106): always paired.
    set_unless_present(out, process_env, "RDMAV_FORK_SAFE", "1");
  }
  set_unless_present(out, process_env, "NCCL_SOCKET_IFNAME", interface_name);
  set_unless_present(out, process_env, "NCCL_PROTO", "simple");
  return out;
}

env::EnvList neuron_env(const env::TrainingEnv& training, const env::EnvSnapshot& process_env) {
  env::EnvList out;
  const bool neuron =
      training.devices.neurons > 0 || is_trainium_instance(training.resource.current_instance_type);
  if (neuron && training.checkpoint)
    set_unless_present(out, process_env, "NEURON_COMPILE_CACHE_URL",
                       (training.checkpoint->local_path / "neuron-compile-cache").string());
  return out;
}

bool neuron_parallel_compile_requested(const env::EnvSnapshot& process_env) {
  return env::lookup(process_env, "RUN_NEURON_PARALLEL_COMPILE") == std::optional<std::string>("1");
}

}  // namespace smrun::launch
