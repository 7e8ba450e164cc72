#pragma once

// What smrun knows about an instance type without asking the hardware: EFA support and the
// default NeuronCore count. One reviewed table, keyed by exact type, because EFA depends on the
// size (trn1.32xlarge has it, trn1.2xlarge does not).

#include <optional>
#include <string_view>

namespace smrun::launch {

struct InstanceProfile {
  bool efa = false;  // NCCL over EFA: FI_PROVIDER=efa (the reference's SM_EFA_NCCL_INSTANCES)
  bool device_rdma =
      false;             // GPUDirect/Neuron RDMA: FI_EFA_USE_DEVICE_RDMA=1 (SM_EFA_RDMA_INSTANCES)
  int neuron_cores = 0;  // default logical NeuronCores, for when neuron-ls is absent
};

// "ml.p4d.24xlarge" -> "p4d.24xlarge"; anything else unchanged.
std::string_view strip_ml_prefix(std::string_view instance_type);

// The profile of a known type ("ml." optional), or nullopt.
std::optional<InstanceProfile> instance_profile(std::string_view instance_type);

// Trainium: the family (text before the first '.') starts with "trn".
bool is_trainium_instance(std::string_view instance_type);

}  // namespace smrun::launch
