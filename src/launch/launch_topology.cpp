#include "smrun/launch/launch_topology.hpp"

#include <algorithm>

#include "smrun/launch/network_env.hpp"
#include "smrun/launch/processes_per_host.hpp"

namespace smrun::launch {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

base::Expected<LaunchTopology> plan_topology(const env::TrainingEnv& training,
                                             const env::EnvSnapshot& process_env) {
  auto choice = select_launcher(training);
  if (!choice) return base::Unexpected(choice.error());
  auto nproc = processes_per_host(training);
  if (!nproc) return base::Unexpected(nproc.error());

  LaunchTopology topo;
  topo.choice = *choice;
  topo.current_host = training.resource.current_host;
  topo.master_port = training.settings.master_port;

  const bool parallel_compile = neuron_parallel_compile_requested(process_env);
  if (parallel_compile && topo.choice.launcher == Launcher::kNative) {
    if (topo.choice.explicit_choice)
      return base::fail(base::ErrorKind::kConfig,
                        "RUN_NEURON_PARALLEL_COMPILE=1 needs the torchrun launcher "
                        "(neuron_parallel_compile wraps one launcher per host), but " +
                            topo.choice.reason + " was given");
    topo.choice.launcher = Launcher::kTorchrun;
    topo.notes.push_back("RUN_NEURON_PARALLEL_COMPILE=1: using torchrun instead of native");
  }
  if (parallel_compile && topo.choice.launcher == Launcher::kTorchrun)
    topo.neuron_parallel_compile = true;
  else if (parallel_compile)
    topo.notes.push_back(std::string("RUN_NEURON_PARALLEL_COMPILE=1 is ignored by the ") +
                         launcher_name(topo.choice.launcher) + " launcher");

  if (topo.choice.launcher == Launcher::kProcess) {
    topo.hosts = {topo.current_host};
    topo.master_host = topo.current_host;
    topo.is_master = true;
    return topo;
  }

  // Distribution hosts; a job without distribution groups (override only) spans every host.
  topo.hosts =
      training.distribution_hosts.empty() ? training.resource.hosts : training.distribution_hosts;
  auto at = std::find(topo.hosts.begin(), topo.hosts.end(), topo.current_host);
  if (at == topo.hosts.end())
    return base::fail(base::ErrorKind::kConfig,
                      "resourceconfig.json: current_host " + topo.current_host +
                          " is not among the distribution hosts [" + join(topo.hosts) + "]");
  topo.node_rank = static_cast<int>(at - topo.hosts.begin());
  topo.nproc_per_node = *nproc;
  topo.master_host = topo.hosts.front();
  topo.is_master = topo.node_rank == 0;
  topo.resolve_master_addr = training.settings.master_addr_ip && topo.num_nodes() > 1 &&
                             topo.choice.launcher != Launcher::kMpi;
  return topo;
}

}  // namespace smrun::launch
