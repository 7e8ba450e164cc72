#pragma once

// Device counts as the reference computes them (environment.py num_gpus/num_cpus/num_neurons),
// without linking CUDA or torch: nvidia-smi / neuron-ls are run as tools with a time limit.

#include <optional>
#include <string>
#include <string_view>

#include "smrun/base/expected.hpp"
#include "smrun/env/env_list.hpp"
#include "smrun/settings/settings.hpp"

namespace smrun::env {

struct DeviceCounts {
  int cpus = 1;
  int gpus = 0;
  int neurons = 0;
};

// Lines starting with "GPU " in `nvidia-smi --list-gpus` output.
int count_gpus_in_nvidia_smi_output(std::string_view output);
// Entries under /proc/driver/nvidia/gpus (one directory per GPU), used when nvidia-smi is absent.
int count_gpus_in_proc(const std::string& proc_dir = "/proc/driver/nvidia/gpus");
// Sum of "nc_count" over the JSON array printed by `neuron-ls -j`; nullopt if unparseable.
std::optional<int> count_neuron_cores_in_neuron_ls_json(std::string_view json);

// Detects, honouring the SMRUN_NUM_CPUS / SMRUN_NUM_GPUS / SMRUN_NUM_NEURONS overrides in
// `settings`. The reference's trn2.48xlarge rule: 64 NeuronCores whenever the instance type
// contains "trn2.48xlarge".
base::Expected<DeviceCounts> detect_devices(const EnvSnapshot& env,
                                            const settings::Settings& settings,
                                            const std::string& instance_type);

// `which NAME` over PATH: true if an executable file of that name is found.
bool is_on_path(const EnvSnapshot& env, std::string_view name);
// The same lookup: the executable's path ("<dir>/NAME"), or empty when there is none.
std::string resolve_on_path(const EnvSnapshot& env, std::string_view name);

}  // namespace smrun::env
