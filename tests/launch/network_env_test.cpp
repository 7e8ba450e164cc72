#include "smrun/launch/network_env.hpp"

#include <gtest/gtest.h>

#include "launch/launch_fixture.hpp"

namespace smrun::launch {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;
using testing::Job;
using testing::JobSpec;
using testing::resource_json;

TEST(TorchNetworkEnv, EfaRdmaInstanceInReferenceOrder) {
  EXPECT_EQ(torch_network_env("ml.p4d.24xlarge", "eth0", {}).entries(),
            (Entries{{"FI_PROVIDER", "efa"},
                     {"FI_EFA_USE_DEVICE_RDMA", "1"},
                     {"RDMAV_FORK_SAFE", "1"},
                     {"NCCL_SOCKET_IFNAME", "eth0"},
                     {"NCCL_PROTO", "simple"}}));
}

TEST(TorchNetworkEnv, EfaWithoutRdma) {
  EXPECT_EQ(
      torch_network_env("ml.g5.48xlarge", "ethwe", {}).entries(),
      (Entries{{"FI_PROVIDER", "efa"}, {"NCCL_SOCKET_IFNAME", "ethwe"}, {"NCCL_PROTO", "simple"}}));
}

TEST(TorchNetworkEnv, NoEfa) {
  EXPECT_EQ(torch_network_env("ml.p3.16xlarge", "eth0", {}).entries(),
            (Entries{{"NCCL_SOCKET_IFNAME", "eth0"}, {"NCCL_PROTO", "simple"}}));
  EXPECT_EQ(torch_network_env("ml.trn1.2xlarge", "eth0", {}).entries(),
            (Entries{{"NCCL_SOCKET_IFNAME", "eth0"}, {"NCCL_PROTO", "simple"}}));
}

// The reference misses these two; smrun gives them the trn1.32xlarge treatment.
TEST(TorchNetworkEnv, Trn1nAndTrn2) {
  const Entries full{{"FI_PROVIDER", "efa"},
                     {"FI_EFA_USE_DEVICE_RDMA", "1"},
                     {"RDMAV_FORK_SAFE", "1"},
                     {"NCCL_SOCKET_IFNAME", "eth0"},
                     {"NCCL_PROTO", "simple"}};
  EXPECT_EQ(torch_network_env("ml.trn1n.32xlarge", "eth0", {}).entries(), full);
  EXPECT_EQ(torch_network_env("ml.trn2.48xlarge", "eth0", {}).entries(), full);
}

TEST(TorchNetworkEnv, UserValuesAreNeverOverridden) {
  const env::EnvSnapshot user{{"FI_PROVIDER", "tcp"},
                              {"NCCL_PROTO", "LL128"},
                              {"RDMAV_FORK_SAFE", ""},
                              {"NCCL_SOCKET_IFNAME", "^lo"}};
  EXPECT_EQ(torch_network_env("ml.p4d.24xlarge", "eth0", user).entries(),
            (Entries{{"FI_EFA_USE_DEVICE_RDMA", "1"}}));
}

TEST(NeuronEnv, CompileCacheUnderTheCheckpointDir) {
  JobSpec spec;
  spec.resource = resource_json({"algo-1"}, "algo-1", "ml.trn1.32xlarge");
  spec.checkpoint = config::CheckpointConfig{"/opt/ml/checkpoints", "s3://b/c"};
  Job job(spec);
  EXPECT_EQ(neuron_env(job.training(), job.env()).entries(),
            (Entries{{"NEURON_COMPILE_CACHE_URL", "/opt/ml/checkpoints/neuron-compile-cache"}}));
}

TEST(NeuronEnv, DetectedNeuronCoresCountOnAnyInstanceType) {
  JobSpec spec;
  spec.devices = {4, 0, 2};
  spec.resource = resource_json({"algo-1"}, "algo-1", "local");
  spec.checkpoint = config::CheckpointConfig{"/ckpt", std::nullopt};
  Job job(spec);
  EXPECT_EQ(neuron_env(job.training(), job.env()).entries(),
            (Entries{{"NEURON_COMPILE_CACHE_URL", "/ckpt/neuron-compile-cache"}}));
}

TEST(NeuronEnv, NothingWithoutCheckpointOrNeuronOrWhenUserSetIt) {
  JobSpec spec;
  spec.resource = resource_json({"algo-1"}, "algo-1", "ml.trn1.32xlarge");
  EXPECT_EQ(neuron_env(Job(spec).training(), {}).size(), 0u);  // no checkpoint dir

  spec.checkpoint = config::CheckpointConfig{"/ckpt", std::nullopt};
  spec.env = {{"NEURON_COMPILE_CACHE_URL", "s3://bucket/cache"}};
  Job user(spec);
  EXPECT_EQ(neuron_env(user.training(), user.env()).size(), 0u);

  spec.env = {};
  spec.resource = resource_json({"algo-1"}, "algo-1", "ml.p4d.24xlarge");
  EXPECT_EQ(neuron_env(Job(spec).training(), {}).size(), 0u);  // GPU instance
}

TEST(NeuronEnv, ParallelCompileSwitchIsExactlyOne) {
  EXPECT_TRUE(neuron_parallel_compile_requested({{"RUN_NEURON_PARALLEL_COMPILE", "1"}}));
  EXPECT_FALSE(neuron_parallel_compile_requested({{"RUN_NEURON_PARALLEL_COMPILE", "true"}}));
  EXPECT_FALSE(neuron_parallel_compile_requested({}));
}

}  // namespace
}  // namespace smrun::launch
