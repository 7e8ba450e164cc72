#pragma once

// EFA/NCCL and Neuron variables smrun adds for distributed launches. Every one is a default:
// a name already in the process environment keeps the user's value.

#include <string>
#include <string_view>

#include "smrun/env/env_list.hpp"
#include "smrun/env/training_env.hpp"

namespace smrun::launch {

// The reference's TorchDistributedRunner._setup, for torchrun and native launches, in its order:
// FI_PROVIDER=efa (EFA types), FI_EFA_USE_DEVICE_RDMA=1 and RDMAV_FORK_SAFE=1 (RDMA types),
// then always NCCL_SOCKET_IFNAME=<iface> and NCCL_PROTO=simple.
env::EnvList torch_network_env(std::string_view instance_type, const std::string& interface_name,
                               const env::EnvSnapshot& process_env);

// NEURON_COMPILE_CACHE_URL=<checkpoint local path>/neuron-compile-cache when it is unset, a
// checkpoint directory is configured and the host has Neuron devices (NeuronCores detected, or
// a trn* instance type): SageMaker syncs the checkpoint directory, so compiled graphs survive
// into the next job.
env::EnvList neuron_env(const env::TrainingEnv& training, const env::EnvSnapshot& process_env);

// RUN_NEURON_PARALLEL_COMPILE == "1" exactly, like the reference.
bool neuron_parallel_compile_requested(const env::EnvSnapshot& process_env);

}  // namespace smrun::launch
