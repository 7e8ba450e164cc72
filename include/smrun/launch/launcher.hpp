#pragma once

// Which launcher runs the user's program on this host (reference: the PyTorch toolkit's runner
// choice in training.py plus runner._get_by_runner_type), and smrun's override of it.

#include <optional>
#include <string>
#include <string_view>

#include "smrun/base/expected.hpp"
#include "smrun/env/env_list.hpp"
#include "smrun/env/training_env.hpp"

namespace smrun::launch {

enum class Launcher {
  kProcess,   // one process, like the reference's ProcessRunner
  kNative,    // smrun spawns every local rank itself with torchrun's worker env contract
  kTorchrun,  // exec torchrun once per host, the reference's TorchDistributedRunner
  kMpi,       // mpirun on the master host; the other hosts serve its ssh sessions
};

// The mpirun command shape: the reference's MasterRunner, or its SMDataParallelRunner
// (smdistributed.dataparallel needs the smddp options and the smddprun wrapper).
enum class MpiFlavor { kOpenMpi, kSmDataParallel };

// "process", "native", "torchrun", "mpi".
const char* launcher_name(Launcher launcher);
std::optional<Launcher> parse_launcher_name(std::string_view name);

struct LauncherChoice {
  Launcher launcher = Launcher::kProcess;
  MpiFlavor mpi_flavor = MpiFlavor::kOpenMpi;
  std::string reason;            // for logs: "sagemaker_mpi_enabled", "SMRUN_LAUNCHER=native", ...
  bool explicit_choice = false;  // from smrun_launcher / SMRUN_LAUNCHER rather than the SDK flags
};

// The explicit override, if any: the smrun_launcher hyperparameter wins over SMRUN_LAUNCHER
// (the variable is usually baked into the image, the hyperparameter is the per-job choice). Both
// are validated even when the other one decides: a typo is an error, never silently ignored.
base::Expected<std::optional<Launcher>> launcher_override(const env::TrainingEnv& training);

// Selection, first match wins:
//  1. hosts outside the distribution instance groups run kProcess (whatever the override says);
//  2. the override, when given;
//  3. framework hyperparameters in the reference's order: sagemaker_mpi_enabled -> kMpi;
//     sagemaker_pytorch_ddp_enabled -> kNative; sagemaker_torch_distributed_enabled -> kNative;
//     sagemaker_distributed_dataparallel_enabled -> kMpi (kSmDataParallel flavour);
//     sagemaker_pytorch_xla_multi_worker_enabled -> kNative;
//  4. kProcess.
// A job with no distribution instance groups at all (no SDK flag) lets the override apply to
// every host. The MPI flavour follows the SDK flag even when the launcher is overridden to kMpi.
base::Expected<LauncherChoice> select_launcher(const env::TrainingEnv& training);

// Gang restarts allowed after a process failure: the smrun_max_restarts hyperparameter (an
// integer 0-1000, or such a number as a string), else SMRUN_MAX_RESTARTS. kConfig error naming
// the hyperparameter and its value otherwise.
base::Expected<int> max_restarts(const env::TrainingEnv& training);

}  // namespace smrun::launch
