#include "smrun/launch/launch_topology.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "smrun/launch/network_env.hpp"
#include "smrun/launch/processes_per_host.hpp"

namespace smrun::launch {
namespace {

base::Expected<int> master_port(const env::EnvSnapshot& process_env) {
  auto value = env::lookup(process_env, "SMRUN_MASTER_PORT");
  if (!value) return kDefaultMasterPort;
  int port = 0;
  auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), port);
  if (value->empty() || ec != std::errc() || ptr != value->data() + value->size() || port < 1 ||
      port > 65535)
    return base::fail(base::ErrorKind::kConfig, "environment variable SMRUN_MASTER_PORT='" +
                                                    *value + "': expected a port number 1-65535");
  return port;
}

// The same words SMRUN_* switches accept elsewhere (cli/settings.hpp parse_switch).
base::Expected<bool> switch_value(const env::EnvSnapshot& process_env, const char* name) {
  auto value = env::lookup(process_env, name);
  if (!value) return false;
  std::string v = *value;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  return base::fail(base::ErrorKind::kConfig, std::string("environment variable ") + name + "='" +
                                                  *value +
                                                  "': expected 1/true/yes/on or 0/false/no/off");
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

base::Expected<LaunchTopology> plan_topology(const env::TrainingEnv& training,
                                             const env::EnvSnapshot& process_env) {
  auto choice = select_launcher(training, process_env);
  if (!choice) return base::Unexpected(choice.error());
  auto port = master_port(process_env);
  if (!port) return base::Unexpected(port.error());
  auto want_ip = switch_value(process_env, "SMRUN_MASTER_ADDR_IP");
  if (!want_ip) return base::Unexpected(want_ip.error());
  auto nproc = processes_per_host(training, process_env);
  if (!nproc) return base::Unexpected(nproc.error());

  LaunchTopology topo;
  topo.choice = *choice;
  topo.current_host = training.resource.current_host;
  topo.master_port = *port;

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
  topo.resolve_master_addr =
      *want_ip && topo.num_nodes() > 1 && topo.choice.launcher != Launcher::kMpi;
  return topo;
}

}  // namespace smrun::launch
