#pragma once

// How many worker processes each host runs (reference: runner._get_by_runner_type).

#include "smrun/base/expected.hpp"
#include "smrun/env/env_list.hpp"
#include "smrun/env/training_env.hpp"

namespace smrun::launch {

// First that applies:
//  1. SMRUN_NPROC_PER_NODE (a positive integer, else a kConfig error naming the variable);
//  2. the sagemaker_mpi_num_of_processes_per_host hyperparameter when truthy (a positive
//     integer, else a kConfig error);
//  3. the GPU count; 4. the NeuronCore count (neuron-ls); 5. the instance table's NeuronCores
//     (neuron-ls absent or reporting 0 on a Trainium type); 6. 1.
base::Expected<int> processes_per_host(const env::TrainingEnv& training);

// sagemaker_mpi_num_processes when truthy (mpirun -np), validated like the per-host count.
base::Expected<std::optional<int>> mpi_num_processes(const env::TrainingEnv& training);

}  // namespace smrun::launch
