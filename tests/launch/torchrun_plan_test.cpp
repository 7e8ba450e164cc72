#include "smrun/launch/torchrun_plan.hpp"

#include <gtest/gtest.h>

#include "launch/launch_fixture.hpp"
#include "smrun/launch/network_env.hpp"

namespace smrun::launch {
namespace {

using Argv = std::vector<std::string>;
using Entries = std::vector<std::pair<std::string, std::string>>;
using testing::env_map;
using testing::Job;
using testing::JobSpec;
using testing::resource_json;

TorchrunInputs vector_inputs(int hosts, int node_rank, int nproc) {
  TorchrunInputs in;
  in.num_nodes = hosts;
  in.nproc_per_node = nproc;
  in.node_rank = node_rank;
  in.master_addr = "algo-1";
  in.master_port = 7777;
  in.entry_point = "train.py";
  in.args = {"-v", "--lr", "35"};
  return in;
}

// Vector torchrun/multi_node_trn1_32xl_efa.
TEST(TorchrunVectors, MultiNodeTrn1) {
  auto cmd = torchrun_command(vector_inputs(4, 2, 32));
  ASSERT_TRUE(cmd.has_value());
  EXPECT_EQ(*cmd,
            (Argv{"torchrun", "--nnodes", "4", "--nproc_per_node", "32", "--master_addr", "algo-1",
                  "--master_port", "7777", "--node_rank", "2", "train.py", "-v", "--lr", "35"}));
  EXPECT_EQ(torch_network_env("ml.trn1.32xlarge", "eth0", {}).entries(),
            (Entries{{"FI_PROVIDER", "efa"},
                     {"FI_EFA_USE_DEVICE_RDMA", "1"},
                     {"RDMAV_FORK_SAFE", "1"},
                     {"NCCL_SOCKET_IFNAME", "eth0"},
                     {"NCCL_PROTO", "simple"}}));
}

// Vector torchrun/neuron_parallel_compile. Adapted: the reference sets only NCCL_PROTO and
// NCCL_SOCKET_IFNAME on trn1n because its EFA lists miss trn1n; smrun adds the EFA variables.
TEST(TorchrunVectors, NeuronParallelCompile) {
  TorchrunInputs in = vector_inputs(2, 1, 32);
  in.neuron_parallel_compile = true;
  auto cmd = torchrun_command(in);
  ASSERT_TRUE(cmd.has_value());
  EXPECT_EQ(*cmd, (Argv{"neuron_parallel_compile", "torchrun", "--nnodes", "2", "--nproc_per_node",
                        "32", "--master_addr", "algo-1", "--master_port", "7777", "--node_rank",
                        "1", "train.py", "-v", "--lr", "35"}));
  auto env = torch_network_env("ml.trn1n.32xlarge", "eth0", {});
  EXPECT_EQ(*env.find("NCCL_PROTO"), "simple");
  EXPECT_EQ(*env.find("NCCL_SOCKET_IFNAME"), "eth0");
  EXPECT_EQ(*env.find("FI_PROVIDER"), "efa");
}

// Vectors torchrun/rejects_train.sh and torchrun/rejects_train.py_package.
TEST(TorchrunVectors, RejectsNonScripts) {
  TorchrunInputs in = vector_inputs(1, 0, 1);
  in.kind = code::EntryPointKind::kCommand;
  auto sh = torchrun_command(in);
  ASSERT_FALSE(sh.has_value());
  EXPECT_EQ(sh.error().kind, base::ErrorKind::kCode);
  EXPECT_EQ(sh.error().message, "Unsupported entry point type for torch_distributed");
  in.kind = code::EntryPointKind::kPythonPackage;
  auto pkg = torchrun_command(in);
  ASSERT_FALSE(pkg.has_value());
  EXPECT_EQ(pkg.error().kind, base::ErrorKind::kCode);
  EXPECT_EQ(pkg.error().message,
            "Python packages are not supported for torch_distributed. Please use a python script "
            "as the entry-point");
}

TEST(TorchrunCommand, SingleHostUsesTorchrunDefaults) {
  auto cmd = torchrun_command(vector_inputs(1, 0, 2));
  EXPECT_EQ(*cmd, (Argv{"torchrun", "--nnodes", "1", "--nproc_per_node", "2", "train.py", "-v",
                        "--lr", "35"}));
}

JobSpec torch_job(const std::string& current, const std::string& type = "ml.trn1.32xlarge") {
  JobSpec spec;
  spec.resource = resource_json({"algo-1", "algo-2"}, current, type);
  spec.hyperparameters = {{"sagemaker_torch_distributed_enabled", "true"},
                          {"smrun_launcher", "torchrun"},
                          {"lr", "35"}};
  spec.devices = {8, 0, 32};
  spec.env = {{"PATH", "/usr/bin"}, {"NCCL_PROTO", "LL"}};
  return spec;
}

TEST(TorchrunPlan, FullPlanForSecondHost) {
  Job job(torch_job("algo-2"));
  auto plan = job.plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(plan->topology.choice.launcher, Launcher::kTorchrun);
  ASSERT_EQ(plan->processes.size(), 1u);
  const auto& spec = plan->processes[0];
  EXPECT_EQ(spec.argv,
            (Argv{"torchrun", "--nnodes", "2", "--nproc_per_node", "32", "--master_addr", "algo-1",
                  "--master_port", "7777", "--node_rank", "1", "train.py", "--lr", "35"}));
  EXPECT_EQ(spec.label, "algo-2:torchrun");
  EXPECT_EQ(spec.cwd, job.training().paths.code);
  auto env = env_map(spec.env);
  EXPECT_EQ(env["TORCHELASTIC_ERROR_FILE"], (job.error_dir() / "torchrun" / "error.json").string());
  EXPECT_EQ(env["FI_PROVIDER"], "efa");
  EXPECT_EQ(env["NCCL_PROTO"], "LL");  // the user's value
  EXPECT_EQ(env["SM_CURRENT_HOST"], "algo-2");
  EXPECT_EQ(env.count("RANK"), 0u);  // torchrun sets the worker contract itself
  EXPECT_EQ(spec.error_file, job.error_dir() / "torchrun" / "error.json");
  EXPECT_EQ(spec.host, "algo-2");
  EXPECT_EQ(spec.rank, std::nullopt);  // torchrun is a host's agent, not one rank
}

TEST(TorchrunPlan, MasterPortOverrideAndResolvedAddress) {
  JobSpec spec = torch_job("algo-2");
  spec.env["SMRUN_MASTER_PORT"] = "29400";
  spec.env["SMRUN_MASTER_ADDR_IP"] = "1";
  Job job(spec);
  auto topo = job.topology();
  ASSERT_TRUE(topo.has_value());
  EXPECT_TRUE(topo->resolve_master_addr);
  auto plan = job.plan("10.0.0.5");
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  const Argv& argv = plan->processes[0].argv;
  EXPECT_EQ(Argv(argv.begin() + 5, argv.begin() + 11),
            (Argv{"--master_addr", "10.0.0.5", "--master_port", "29400", "--node_rank", "1"}));
}

TEST(TorchrunPlan, PackageEntryPointIsRejected) {
  JobSpec spec = torch_job("algo-1");
  spec.code_files = {"setup.py"};
  auto plan = Job(spec).plan();
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().message,
            "Python packages are not supported for torch_distributed. Please use a python script "
            "as the entry-point");
}

TEST(TorchrunPlan, NeuronParallelCompileReplacesTheDefaultNativeLauncher) {
  JobSpec spec = torch_job("algo-1");
  spec.hyperparameters = {{"sagemaker_torch_distributed_enabled", "true"}};
  spec.env["RUN_NEURON_PARALLEL_COMPILE"] = "1";
  auto plan = Job(spec).plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(plan->topology.choice.launcher, Launcher::kTorchrun);
  EXPECT_EQ(plan->processes[0].argv[0], "neuron_parallel_compile");
  EXPECT_EQ(plan->processes[0].argv[1], "torchrun");
  EXPECT_EQ(plan->notes, (Argv{"RUN_NEURON_PARALLEL_COMPILE=1: using torchrun instead of native"}));
}

TEST(TorchrunPlan, NeuronParallelCompileWithExplicitNativeIsAnError) {
  JobSpec spec = torch_job("algo-1");
  spec.hyperparameters = {{"sagemaker_torch_distributed_enabled", "true"}};
  spec.env["RUN_NEURON_PARALLEL_COMPILE"] = "1";
  spec.env["SMRUN_LAUNCHER"] = "native";
  auto plan = Job(spec).plan();
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().kind, base::ErrorKind::kConfig);
  EXPECT_EQ(plan.error().message,
            "RUN_NEURON_PARALLEL_COMPILE=1 needs the torchrun launcher (neuron_parallel_compile "
            "wraps one launcher per host), but SMRUN_LAUNCHER=native was given");
}

}  // namespace
}  // namespace smrun::launch
