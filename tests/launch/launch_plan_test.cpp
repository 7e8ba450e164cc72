#include "smrun/launch/launch_plan.hpp"

#include <gtest/gtest.h>

#include "launch/launch_fixture.hpp"

namespace smrun::launch {
namespace {

using Argv = std::vector<std::string>;
using Entries = std::vector<std::pair<std::string, std::string>>;
using testing::env_map;
using testing::Job;
using testing::JobSpec;
using testing::resource_json;

TEST(LaunchPlan, SingleProcessJob) {
  JobSpec spec;
  spec.hyperparameters = {{"lr", "0.1"}};
  spec.env = {{"HOME", "/root"}};
  Job job(spec);
  auto plan = job.plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(plan->topology.choice.launcher, Launcher::kProcess);
  EXPECT_EQ(plan->topology.hosts, Argv{"algo-1"});
  EXPECT_EQ(plan->topology.world_size(), 1);
  ASSERT_EQ(plan->processes.size(), 1u);
  EXPECT_EQ(plan->processes[0].argv, (Argv{"python3", "-u", "train.py", "--lr", "0.1"}));
  EXPECT_EQ(plan->processes[0].label, "algo-1");
  EXPECT_EQ(plan->processes[0].env, child_environment(job.env(), job.process().smrun_env));
  EXPECT_EQ(plan->processes[0].error_file, std::filesystem::path());
  EXPECT_EQ(plan->processes[0].host, "algo-1");
  EXPECT_EQ(plan->processes[0].rank, std::nullopt);
  EXPECT_EQ(plan->added_env.size(), 0u);
  // The single process's output reaches smrun's stdout byte for byte.
  EXPECT_FALSE(plan->prefix_output);
  EXPECT_EQ(plan->rank_log_dir, std::nullopt);
}

TEST(LaunchPlan, OutputIsPrefixedForMoreThanOneRankUnlessTheSettingSaysOtherwise) {
  JobSpec spec;
  spec.env = {{"SMRUN_LAUNCHER", "native"}, {"SMRUN_NPROC_PER_NODE", "2"}};
  auto plan = Job(spec).plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(plan->processes.size(), 2u);
  EXPECT_TRUE(plan->prefix_output);

  spec.env["SMRUN_LOG_PREFIX"] = "off";
  spec.env["SMRUN_RANK_LOG_DIR"] = "/logs";
  auto unprefixed = Job(spec).plan();
  ASSERT_TRUE(unprefixed.has_value()) << unprefixed.error().message;
  EXPECT_FALSE(unprefixed->prefix_output);
  EXPECT_EQ(unprefixed->rank_log_dir, std::filesystem::path("/logs"));

  JobSpec single;
  single.env = {{"SMRUN_LOG_PREFIX", "1"}};
  auto prefixed = Job(single).plan();
  ASSERT_TRUE(prefixed.has_value()) << prefixed.error().message;
  EXPECT_EQ(prefixed->processes.size(), 1u);
  EXPECT_TRUE(prefixed->prefix_output);
}

TEST(LaunchPlan, LogRanksHideTheOtherRanksOfTheNativeGang) {
  JobSpec spec;
  spec.env = {
      {"SMRUN_LAUNCHER", "native"}, {"SMRUN_NPROC_PER_NODE", "4"}, {"SMRUN_LOG_RANKS", "0,2"}};
  auto plan = Job(spec).plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  ASSERT_EQ(plan->processes.size(), 4u);
  std::vector<bool> console;
  for (const auto& p : plan->processes) console.push_back(p.console);
  EXPECT_EQ(console, (std::vector<bool>{true, false, true, false}));

  spec.env = {
      {"SMRUN_LAUNCHER", "torchrun"}, {"SMRUN_NPROC_PER_NODE", "4"}, {"SMRUN_LOG_RANKS", "0"}};
  auto torchrun = Job(spec).plan();
  ASSERT_TRUE(torchrun.has_value()) << torchrun.error().message;
  EXPECT_TRUE(torchrun->processes.at(0).console);
  EXPECT_NE(std::find(torchrun->notes.begin(), torchrun->notes.end(),
                      "SMRUN_LOG_RANKS applies to the native launcher; torchrun's output is shown "
                      "whole"),
            torchrun->notes.end());
}

// The single process gets what every launcher gives a Neuron job: the compile cache location.
TEST(LaunchPlan, SingleProcessNeuronJobGetsTheCompileCache) {
  JobSpec spec;
  spec.resource = resource_json({"algo-1"}, "algo-1", "ml.trn1.2xlarge");
  spec.devices = {8, 0, 2};
  spec.checkpoint = config::CheckpointConfig{"/opt/ml/checkpoints", std::nullopt};
  Job job(spec);
  auto plan = job.plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(plan->topology.choice.launcher, Launcher::kProcess);
  ASSERT_EQ(plan->processes.size(), 1u);
  EXPECT_EQ(plan->added_env.entries(),
            (Entries{{"NEURON_COMPILE_CACHE_URL", "/opt/ml/checkpoints/neuron-compile-cache"}}));
  EXPECT_EQ(env_map(plan->processes[0].env)["NEURON_COMPILE_CACHE_URL"],
            "/opt/ml/checkpoints/neuron-compile-cache");
}

TEST(LaunchPlan, NoFlagOverrideSpansEveryHost) {
  JobSpec spec;
  spec.resource = resource_json({"algo-1", "algo-2", "algo-3"}, "algo-3", "ml.m5.xlarge");
  spec.env = {{"SMRUN_LAUNCHER", "native"}, {"SMRUN_NPROC_PER_NODE", "3"}};
  auto topo = Job(spec).topology();
  ASSERT_TRUE(topo.has_value()) << topo.error().message;
  EXPECT_EQ(topo->hosts, (Argv{"algo-1", "algo-2", "algo-3"}));
  EXPECT_EQ(topo->node_rank, 2);
  EXPECT_EQ(topo->world_size(), 9);
  EXPECT_EQ(topo->master_host, "algo-1");
  EXPECT_FALSE(topo->is_master);
  EXPECT_FALSE(topo->resolve_master_addr);
}

TEST(LaunchPlan, NativeNeuronJobGetsTheCompileCache) {
  JobSpec spec;
  spec.resource = resource_json({"algo-1", "algo-2"}, "algo-1", "ml.trn1.32xlarge");
  spec.hyperparameters = {{"sagemaker_torch_distributed_enabled", "true"}};
  spec.devices = {128, 0, 0};  // neuron-ls absent: the table gives 32
  spec.checkpoint = config::CheckpointConfig{"/opt/ml/checkpoints", std::nullopt};
  auto plan = Job(spec).plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(plan->processes.size(), 32u);
  EXPECT_EQ(plan->added_env.entries(),
            (Entries{{"FI_PROVIDER", "efa"},
                     {"FI_EFA_USE_DEVICE_RDMA", "1"},
                     {"RDMAV_FORK_SAFE", "1"},
                     {"NCCL_SOCKET_IFNAME", "eth0"},
                     {"NCCL_PROTO", "simple"},
                     {"NEURON_COMPILE_CACHE_URL", "/opt/ml/checkpoints/neuron-compile-cache"}}));
  auto env = env_map(plan->processes[31].env);
  EXPECT_EQ(env["RANK"], "31");
  EXPECT_EQ(env["NEURON_COMPILE_CACHE_URL"], "/opt/ml/checkpoints/neuron-compile-cache");
  EXPECT_EQ(plan->processes[31].label, "algo-1:31");
}

TEST(LaunchPlan, ParallelCompileIgnoredOutsideTorchLaunchers) {
  JobSpec spec;
  spec.env = {{"RUN_NEURON_PARALLEL_COMPILE", "1"}};
  auto plan = Job(spec).plan();
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->notes,
            (Argv{"RUN_NEURON_PARALLEL_COMPILE=1 is ignored by the process launcher"}));
  EXPECT_EQ(plan->processes[0].argv[0], "python3");
}

TEST(LaunchPlan, RunIdFallsBackToSagemakerJobName) {
  JobSpec spec;
  spec.hyperparameters = {{"sagemaker_job_name", "\"sm-job\""}};
  EXPECT_EQ(torchelastic_run_id(Job(spec).training()), "sm-job");
  spec.env = {{"TRAINING_JOB_NAME", "tj"}};
  EXPECT_EQ(torchelastic_run_id(Job(spec).training()), "tj");
}

}  // namespace
}  // namespace smrun::launch
