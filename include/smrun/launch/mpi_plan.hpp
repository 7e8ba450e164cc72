#pragma once

// The mpirun command the master host runs (reference: mpi.MasterRunner._create_command and
// smdataparallel.SMDataParallelRunner._get_mpirun_command), minus the reference's LD_PRELOAD
// gethostname shim and `python -m mpi4py`: ranks run the same argv as a single process, and
// orte_abort_on_non_zero_status makes any failing rank abort the job without mpi4py.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/env/env_list.hpp"
#include "smrun/launch/launcher.hpp"

namespace smrun::launch {

inline constexpr int kSmDataParallelServerPort = 7592;

// The custom options string split on whitespace, with --NCCL_DEBUG taken out the way the
// reference's argparse.parse_known_args does it: "--NCCL_DEBUG V", "--NCCL_DEBUG=V" and
// unambiguous prefixes ("--NCCL V"); the last one wins. Everything else stays, verbatim, in order.
struct CustomMpiOptions {
  std::optional<std::string> nccl_debug;
  std::vector<std::string> extra;
};
// `source` names the hyperparameter in errors (--NCCL_DEBUG without a value).
base::Expected<CustomMpiOptions> parse_custom_mpi_options(std::string_view text,
                                                          std::string_view source);

// Model-parallel additions (reference _modelparallel_environment_command), only when
// SM_HP_MP_PARAMETERS is set and not "{}".
struct ModelParallelInputs {
  std::optional<std::string> mp_parameters;      // SM_HP_MP_PARAMETERS
  std::optional<std::string> dlc_torch_version;  // SM_DLC_TORCH_VERSION
  bool smddpmprun_installed = false;
  std::string instance_type;
};
struct ModelParallelOptions {
  std::vector<std::string> mpi_options;     // -x NCCL_PROTO=simple [-x NCCL_ALGO=ring]
  std::vector<std::string> program_prefix;  // smddpmprun -i <type> --allow-bypass
};
ModelParallelOptions modelparallel_options(const ModelParallelInputs& inputs);

struct MpiInputs {
  MpiFlavor flavour = MpiFlavor::kOpenMpi;
  std::vector<std::string> hosts;
  int processes_per_host = 1;
  std::optional<int> num_processes;  // sagemaker_mpi_num_processes (kOpenMpi only)
  std::string interface_name = "eth0";
  std::string instance_type;  // EFA flags; smddp's SAGEMAKER_INSTANCE_TYPE
  std::string master_host;
  std::string custom_options;  // raw text of the custom options hyperparameter
  std::string custom_options_source = "sagemaker_mpi_custom_mpi_options";
  std::optional<std::string> rsh_agent;  // SMRUN_MPI_RSH_AGENT -> -mca plm_rsh_agent <value>
  // mpirun's own environment: values of names set here are forwarded by name (-x NAME) instead
  // of smrun's default, and AWS credentials are forwarded when present.
  env::EnvSnapshot process_env;
  std::vector<std::string> forwarded_names;  // SM_* and PYTHONPATH, exported by name only
  ModelParallelInputs model_parallel;        // kOpenMpi only
  bool smddprun_installed = false;           // kSmDataParallel only
  std::vector<std::string> program;          // the rank's argv
};

base::Expected<std::vector<std::string>> mpirun_command(const MpiInputs& inputs);

}  // namespace smrun::launch
