#include "smrun/launch/processes_per_host.hpp"

#include "smrun/env/devices.hpp"
#include "smrun/hyperparams/py_format.hpp"
#include "smrun/launch/instance_profile.hpp"

namespace smrun::launch {
namespace {

// A truthy framework hyperparameter holding a positive int; nullopt when absent or falsy (the
// reference's `x or default`).
base::Expected<std::optional<int>> positive_int_hyperparameter(const env::TrainingEnv& training,
                                                               std::string_view name) {
  for (const auto& [key, value] : training.hyperparameters.framework) {
    if (key != name) continue;
    if (!value.truthy()) return std::optional<int>();
    auto n = value.is_int() ? value.as_int64() : std::nullopt;
    if (!n || *n < 1 || *n > 1'000'000)
      return base::fail(base::ErrorKind::kConfig, "hyperparameter " + std::string(name) + "=" +
                                                      hyperparams::py_repr(value) +
                                                      ": expected a positive integer");
    return std::optional<int>(static_cast<int>(*n));
  }
  return std::optional<int>();
}

}  // namespace

base::Expected<int> processes_per_host(const env::TrainingEnv& training) {
  if (training.settings.nproc_per_node) return *training.settings.nproc_per_node;
  auto from_hp = positive_int_hyperparameter(training, "sagemaker_mpi_num_of_processes_per_host");
  if (!from_hp) return base::Unexpected(from_hp.error());
  if (from_hp->has_value()) return **from_hp;
  if (training.devices.gpus > 0) return training.devices.gpus;
  if (training.devices.neurons > 0) return training.devices.neurons;
  if (auto profile = instance_profile(training.resource.current_instance_type);
      profile && profile->neuron_cores > 0)
    return profile->neuron_cores;
  return 1;
}

base::Expected<std::optional<int>> mpi_num_processes(const env::TrainingEnv& training) {
  return positive_int_hyperparameter(training, "sagemaker_mpi_num_processes");
}

}  // namespace smrun::launch
