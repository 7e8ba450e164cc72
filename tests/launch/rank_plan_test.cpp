#include "smrun/launch/rank_plan.hpp"

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

TEST(RankContract, ExactVariablesInTorchrunOrder) {
  const RankLayout layout{1, 4, 2, 3};
  EXPECT_EQ(layout.global_rank(), 9);
  EXPECT_EQ(layout.world_size(), 12);
  auto env = rank_contract_env(layout, {"algo-1", 7777, "job-7"}, "/e/rank-9/error.json");
  EXPECT_EQ(env.entries(), (Entries{{"LOCAL_RANK", "1"},
                                    {"RANK", "9"},
                                    {"GROUP_RANK", "2"},
                                    {"ROLE_RANK", "9"},
                                    {"ROLE_NAME", "default"},
                                    {"LOCAL_WORLD_SIZE", "4"},
                                    {"WORLD_SIZE", "12"},
                                    {"GROUP_WORLD_SIZE", "3"},
                                    {"ROLE_WORLD_SIZE", "12"},
                                    {"MASTER_ADDR", "algo-1"},
                                    {"MASTER_PORT", "7777"},
                                    {"TORCHELASTIC_RESTART_COUNT", "0"},
                                    {"TORCHELASTIC_MAX_RESTARTS", "0"},
                                    {"TORCHELASTIC_RUN_ID", "job-7"},
                                    {"TORCHELASTIC_ERROR_FILE", "/e/rank-9/error.json"}}));
}

TEST(RankContract, ErrorFileLayout) {
  EXPECT_EQ(rank_error_file("/opt/ml/output/ranks", 12), "/opt/ml/output/ranks/rank-12/error.json");
}

TEST(WorkerDefaults, SetOnlyWhenAbsent) {
  EXPECT_EQ(torchrun_worker_defaults(2, {}).entries(),
            (Entries{{"NCCL_ASYNC_ERROR_HANDLING", "1"},
                     {"TORCH_NCCL_ASYNC_ERROR_HANDLING", "1"},
                     {"OMP_NUM_THREADS", "1"}}));
  EXPECT_EQ(
      torchrun_worker_defaults(1, {}).entries(),
      (Entries{{"NCCL_ASYNC_ERROR_HANDLING", "1"}, {"TORCH_NCCL_ASYNC_ERROR_HANDLING", "1"}}));
  env::EnvList user;
  user.set("OMP_NUM_THREADS", "8");
  user.set("TORCH_NCCL_ASYNC_ERROR_HANDLING", "0");
  EXPECT_EQ(torchrun_worker_defaults(4, user).entries(),
            (Entries{{"NCCL_ASYNC_ERROR_HANDLING", "1"}}));
}

JobSpec native_job(const std::string& current) {
  JobSpec spec;
  spec.resource = resource_json({"algo-1", "algo-2"}, current, "ml.p4d.24xlarge", "ethwe");
  spec.hyperparameters = {{"sagemaker_torch_distributed_enabled", "true"}, {"epochs", "3"}};
  spec.devices = {8, 2, 0};
  spec.env = {{"PATH", "/usr/bin"}, {"TRAINING_JOB_NAME", "my-job"}};
  return spec;
}

// Two hosts x two ranks: each host plans its own two ranks; together they are ranks 0..3.
TEST(NativePlan, TwoHostsTimesTwoRanks) {
  std::vector<std::map<std::string, std::string>> envs;
  std::vector<std::string> labels;
  for (const std::string host : {"algo-1", "algo-2"}) {
    Job job(native_job(host));
    auto plan = job.plan();
    ASSERT_TRUE(plan.has_value()) << plan.error().message;
    EXPECT_EQ(plan->topology.choice.launcher, Launcher::kNative);
    EXPECT_EQ(plan->topology.world_size(), 4);
    EXPECT_EQ(plan->master_addr, "algo-1");
    ASSERT_EQ(plan->processes.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
      const auto& spec = plan->processes[i];
      EXPECT_EQ(spec.argv, (Argv{"python3", "-u", "train.py", "--epochs", "3"}));
      EXPECT_EQ(spec.cwd, job.training().paths.code);
      labels.push_back(spec.label);
      envs.push_back(env_map(spec.env));
      EXPECT_EQ(envs.back()["TORCHELASTIC_ERROR_FILE"], spec.error_file.string());
      EXPECT_EQ(spec.error_file, job.error_dir() / ("rank-" + envs.back()["RANK"]) / "error.json");
      // Host and rank are fields of the plan, equal to what the rank's environment says.
      EXPECT_EQ(spec.rank, std::stoi(envs.back()["RANK"]));
      EXPECT_EQ(spec.host, spec.label.substr(0, spec.label.find(':')));
    }
  }
  EXPECT_EQ(labels, (Argv{"algo-1:0", "algo-1:1", "algo-2:2", "algo-2:3"}));
  for (int rank = 0; rank < 4; ++rank) {
    auto& env = envs[rank];
    EXPECT_EQ(env["RANK"], std::to_string(rank));
    EXPECT_EQ(env["LOCAL_RANK"], std::to_string(rank % 2));
    EXPECT_EQ(env["GROUP_RANK"], std::to_string(rank / 2));
    EXPECT_EQ(env["ROLE_RANK"], std::to_string(rank));
    EXPECT_EQ(env["WORLD_SIZE"], "4");
    EXPECT_EQ(env["LOCAL_WORLD_SIZE"], "2");
    EXPECT_EQ(env["GROUP_WORLD_SIZE"], "2");
    EXPECT_EQ(env["ROLE_WORLD_SIZE"], "4");
    EXPECT_EQ(env["ROLE_NAME"], "default");
    EXPECT_EQ(env["MASTER_ADDR"], "algo-1");
    EXPECT_EQ(env["MASTER_PORT"], "7777");
    EXPECT_EQ(env["TORCHELASTIC_RUN_ID"], "my-job");
    EXPECT_EQ(env["TORCHELASTIC_RESTART_COUNT"], "0");
    EXPECT_EQ(env["TORCHELASTIC_MAX_RESTARTS"], "0");
    EXPECT_EQ(env["NCCL_ASYNC_ERROR_HANDLING"], "1");
    EXPECT_EQ(env["TORCH_NCCL_ASYNC_ERROR_HANDLING"], "1");
    EXPECT_EQ(env["OMP_NUM_THREADS"], "1");
    EXPECT_EQ(env.count("TORCHELASTIC_USE_AGENT_STORE"), 0u);
    // EFA/NCCL defaults for p4d, and the usual SM_* / inherited variables.
    EXPECT_EQ(env["FI_PROVIDER"], "efa");
    EXPECT_EQ(env["FI_EFA_USE_DEVICE_RDMA"], "1");
    EXPECT_EQ(env["RDMAV_FORK_SAFE"], "1");
    EXPECT_EQ(env["NCCL_SOCKET_IFNAME"], "ethwe");
    EXPECT_EQ(env["NCCL_PROTO"], "simple");
    EXPECT_EQ(env["SM_CURRENT_HOST"], rank < 2 ? "algo-1" : "algo-2");
    EXPECT_EQ(env["PATH"], "/usr/bin");
  }
}

TEST(NativePlan, UserSetValuesAreNeverOverridden) {
  JobSpec spec = native_job("algo-1");
  spec.env["OMP_NUM_THREADS"] = "6";
  spec.env["NCCL_ASYNC_ERROR_HANDLING"] = "0";
  spec.env["FI_PROVIDER"] = "tcp";
  spec.env["NCCL_SOCKET_IFNAME"] = "eth1";
  Job job(spec);
  auto plan = job.plan();
  ASSERT_TRUE(plan.has_value());
  auto env = env_map(plan->processes[1].env);
  EXPECT_EQ(env["OMP_NUM_THREADS"], "6");
  EXPECT_EQ(env["NCCL_ASYNC_ERROR_HANDLING"], "0");
  EXPECT_EQ(env["TORCH_NCCL_ASYNC_ERROR_HANDLING"], "1");
  EXPECT_EQ(env["FI_PROVIDER"], "tcp");
  EXPECT_EQ(env["NCCL_SOCKET_IFNAME"], "eth1");
  EXPECT_EQ(plan->added_env.find("FI_PROVIDER"), nullptr);
  EXPECT_EQ(*plan->added_env.find("NCCL_PROTO"), "simple");
}

TEST(NativePlan, SingleHostUsesLoopbackAndOneRankSkipsOmp) {
  JobSpec spec;
  spec.hyperparameters = {{"sagemaker_torch_distributed_enabled", "true"}};
  spec.devices = {8, 1, 0};
  Job job(spec);
  auto plan = job.plan();
  ASSERT_TRUE(plan.has_value());
  ASSERT_EQ(plan->processes.size(), 1u);
  auto env = env_map(plan->processes[0].env);
  EXPECT_EQ(env["MASTER_ADDR"], "127.0.0.1");
  EXPECT_EQ(env["WORLD_SIZE"], "1");
  EXPECT_EQ(env["TORCHELASTIC_RUN_ID"], "none");  // no job name at all
  EXPECT_EQ(env.count("OMP_NUM_THREADS"), 0u);
  EXPECT_EQ(plan->processes[0].label, "algo-1:0");
}

TEST(NativePlan, MasterAddressFromTheCaller) {
  JobSpec spec = native_job("algo-2");
  spec.env["SMRUN_MASTER_ADDR_IP"] = "true";
  spec.env["SMRUN_MASTER_PORT"] = "23456";
  Job job(spec);
  auto missing = job.plan();
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().kind, base::ErrorKind::kInternal);
  EXPECT_EQ(missing.error().message,
            "SMRUN_MASTER_ADDR_IP=1 but the address of algo-1 was not resolved before planning");
  auto plan = job.plan("10.1.2.3");
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->master_addr, "10.1.2.3");
  auto env = env_map(plan->processes[0].env);
  EXPECT_EQ(env["MASTER_ADDR"], "10.1.2.3");
  EXPECT_EQ(env["MASTER_PORT"], "23456");
}

TEST(NativePlan, InvalidMasterSettings) {
  for (const auto& [name, value, message] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"SMRUN_MASTER_PORT", "0",
            "environment variable SMRUN_MASTER_PORT='0': expected an integer from 1 to 65535"},
           {"SMRUN_MASTER_PORT", "70000",
            "environment variable SMRUN_MASTER_PORT='70000': expected an integer from 1 to 65535"},
           {"SMRUN_MASTER_PORT", "http",
            "environment variable SMRUN_MASTER_PORT='http': expected an integer from 1 to 65535"},
           {"SMRUN_MASTER_ADDR_IP", "maybe",
            "environment variable SMRUN_MASTER_ADDR_IP='maybe': expected 1/true/yes/on or "
            "0/false/no/off"}}) {
    JobSpec spec = native_job("algo-1");
    spec.env[name] = value;
    auto topo = Job(spec).topology();
    ASSERT_FALSE(topo.has_value()) << name << "=" << value;
    EXPECT_EQ(topo.error().kind, base::ErrorKind::kConfig);
    EXPECT_EQ(topo.error().message, message);
  }
}

TEST(NativePlan, CommandEntryPointsRunDirectly) {
  JobSpec spec = native_job("algo-1");
  spec.entry_point = "train.sh";
  Job job(spec);
  auto plan = job.plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(plan->processes[0].argv, job.process().command);
}

}  // namespace
}  // namespace smrun::launch
