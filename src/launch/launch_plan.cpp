#include "smrun/launch/launch_plan.hpp"

#include "smrun/hyperparams/py_format.hpp"
#include "smrun/launch/mpi_plan.hpp"
#include "smrun/launch/network_env.hpp"
#include "smrun/launch/processes_per_host.hpp"
#include "smrun/launch/rank_plan.hpp"
#include "smrun/launch/torchrun_plan.hpp"

namespace smrun::launch {
namespace {

constexpr const char* kLoopback = "127.0.0.1";

std::string framework_str(const env::TrainingEnv& training, std::string_view name) {
  for (const auto& [key, value] : training.hyperparameters.framework)
    if (key == name) return value.truthy() ? hyperparams::py_str(value) : "";
  return "";
}

std::optional<std::string> find_env(const env::EnvList& list, std::string_view name) {
  const std::string* v = list.find(name);
  return v ? std::optional<std::string>(*v) : std::nullopt;
}

supervise::ProcessSpec make_spec(std::vector<std::string> argv, const env::EnvList& env,
                                 const std::filesystem::path& cwd, std::string label) {
  supervise::ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.env = env.to_strings();
  spec.cwd = cwd;
  spec.label = std::move(label);
  return spec;
}

base::Expected<std::vector<std::string>> mpi_plan_command(const LaunchTopology& topo,
                                                          const PlanInputs& in,
                                                          const env::EnvList& host_env,
                                                          const env::EnvList& added) {
  const env::TrainingEnv& training = *in.training;
  MpiInputs mpi;
  mpi.flavour = topo.choice.mpi_flavor;
  mpi.hosts = topo.hosts;
  mpi.processes_per_host = topo.nproc_per_node;
  mpi.interface_name = training.resource.network_interface_name;
  mpi.instance_type = training.resource.current_instance_type;
  mpi.master_host = topo.master_host;
  mpi.process_env = *in.process_env;
  if (mpi.flavour == MpiFlavor::kOpenMpi) {
    auto np = mpi_num_processes(training);
    if (!np) return base::Unexpected(np.error());
    mpi.num_processes = *np;
    mpi.custom_options_source = "sagemaker_mpi_custom_mpi_options";
  } else {
    mpi.custom_options_source = "sagemaker_distributed_dataparallel_custom_mpi_options";
    if (auto type = framework_str(training, "sagemaker_instance_type"); !type.empty())
      mpi.instance_type = type;
  }
  mpi.custom_options = framework_str(training, mpi.custom_options_source);
  if (training.settings.mpi_rsh_agent) mpi.rsh_agent = *training.settings.mpi_rsh_agent;
  for (const auto& [name, _] : in.process->smrun_env.entries())
    if (name.starts_with("SM_") || name == "PYTHONPATH") mpi.forwarded_names.push_back(name);
  for (const auto& [name, _] : added.entries()) mpi.forwarded_names.push_back(name);
  mpi.model_parallel.mp_parameters = find_env(host_env, "SM_HP_MP_PARAMETERS");
  mpi.model_parallel.dlc_torch_version = find_env(host_env, "SM_DLC_TORCH_VERSION");
  mpi.model_parallel.smddpmprun_installed = training.smddpmprun_installed;
  mpi.model_parallel.instance_type = training.resource.current_instance_type;
  mpi.smddprun_installed = training.smddprun_installed;
  mpi.program = in.process->command;
  return mpirun_command(mpi);
}

}  // namespace

std::string torchelastic_run_id(const env::TrainingEnv& training) {
  if (training.job_name && !training.job_name->empty()) return *training.job_name;
  if (!training.sagemaker_job_name.empty()) return training.sagemaker_job_name;
  return "none";
}

base::Expected<LaunchPlan> make_launch_plan(const LaunchTopology& topo, const PlanInputs& in) {
  const env::TrainingEnv& training = *in.training;
  const env::EnvSnapshot& process_env = *in.process_env;
  const ProcessPlan& process = *in.process;
  const Launcher launcher = topo.choice.launcher;

  LaunchPlan plan;
  plan.topology = topo;
  plan.notes = topo.notes;
  plan.prefix_output = training.settings.log_prefix.value_or(topo.world_size() > 1);
  plan.rank_log_dir = training.settings.rank_log_dir;

  if (launcher == Launcher::kNative || launcher == Launcher::kTorchrun) {
    if (topo.num_nodes() == 1) {
      plan.master_addr = kLoopback;
    } else if (topo.resolve_master_addr) {
      if (!in.master_addr_ip || in.master_addr_ip->empty())
        return base::fail(base::ErrorKind::kInternal, "SMRUN_MASTER_ADDR_IP=1 but the address of " +
                                                          topo.master_host +
                                                          " was not resolved before planning");
      plan.master_addr = *in.master_addr_ip;
    } else {
      plan.master_addr = topo.master_host;
    }
    plan.added_env = torch_network_env(training.resource.current_instance_type,
                                       training.resource.network_interface_name, process_env);
  } else {
    plan.master_addr = topo.master_host;
  }
  plan.added_env.append(neuron_env(training, process_env));

  env::EnvList host_env;
  for (const auto& [k, v] : process_env) host_env.set(k, v);
  host_env.append(process.smrun_env);

  switch (launcher) {
    case Launcher::kProcess: {
      host_env.append(plan.added_env);
      plan.processes.push_back(
          make_spec(process.command, host_env, process.cwd, topo.current_host));
      break;
    }
    case Launcher::kNative: {
      host_env.append(plan.added_env);
      NativeRankInputs ranks;
      ranks.argv = process.command;
      ranks.cwd = process.cwd;
      ranks.host_env = std::move(host_env);
      ranks.host = topo.current_host;
      ranks.nproc_per_node = topo.nproc_per_node;
      ranks.node_rank = topo.node_rank;
      ranks.num_nodes = topo.num_nodes();
      ranks.rendezvous = {plan.master_addr, topo.master_port, torchelastic_run_id(training),
                          in.restart_count, in.max_restarts};
      ranks.error_dir = in.error_dir;
      plan.processes = native_rank_specs(ranks);
      break;
    }
    case Launcher::kTorchrun: {
      TorchrunInputs t;
      t.program = training.settings.torchrun;
      t.neuron_parallel_compile = topo.neuron_parallel_compile;
      t.num_nodes = topo.num_nodes();
      t.nproc_per_node = topo.nproc_per_node;
      t.node_rank = topo.node_rank;
      t.master_addr = plan.master_addr;
      t.master_port = topo.master_port;
      t.kind = process.kind;
      t.entry_point = process.entry_point;
      t.args = training.user_args;
      auto command = torchrun_command(t);
      if (!command) return base::Unexpected(command.error());
      // torchrun's @record copies the root-cause worker's error JSON here.
      const std::filesystem::path error_file = in.error_dir / "torchrun" / "error.json";
      host_env.append(plan.added_env);
      host_env.set("TORCHELASTIC_ERROR_FILE", error_file.string());
      plan.processes.push_back(
          make_spec(std::move(*command), host_env, process.cwd, topo.current_host + ":torchrun"));
      plan.processes.back().error_file = error_file;
      break;
    }
    case Launcher::kMpi: {
      // Every host (the master too, like the reference) runs the daemon mpirun reaches it
      // through, as a service: it ends when mpirun does, or when the master releases a worker.
      const std::vector<std::string>& daemon = training.settings.mpi_sshd;
      if (!daemon.empty() && topo.num_nodes() > 1) {
        auto spec = make_spec(
            daemon, host_env, {},
            topo.current_host + ":" + std::filesystem::path(daemon[0]).filename().string());
        spec.service = true;
        plan.processes.push_back(std::move(spec));
      }
      if (!topo.is_master) {
        plan.notes.push_back("MPI worker host: mpirun on " + topo.master_host +
                             " starts this host's ranks over ssh");
        break;
      }
      host_env.append(plan.added_env);
      auto command = mpi_plan_command(topo, in, host_env, plan.added_env);
      if (!command) return base::Unexpected(command.error());
      auto spec =
          make_spec(std::move(*command), host_env, process.cwd, topo.current_host + ":mpirun");
      spec.rank_hosts = supervise::RankHosts{topo.hosts, topo.nproc_per_node};
      plan.processes.push_back(std::move(spec));
      break;
    }
  }
  for (auto& spec : plan.processes) {
    spec.host = topo.current_host;
    if (spec.rank) spec.console = settings::rank_shown(training.settings, *spec.rank);
  }
  if (training.settings.log_ranks && launcher != Launcher::kNative && topo.world_size() > 1)
    plan.notes.push_back(std::string("SMRUN_LOG_RANKS applies to the native launcher; ") +
                         launcher_name(launcher) + "'s output is shown whole");
  return plan;
}

}  // namespace smrun::launch
