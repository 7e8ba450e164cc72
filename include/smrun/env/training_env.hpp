#pragma once

// The reference's Environment object (environment.py) as a plain struct computed by a pure
// function, and its two renderings: SM_TRAINING_ENV's dict and the SM_* variables.

#include <optional>
#include <string>
#include <vector>

#include "smrun/config/job_config.hpp"
#include "smrun/config/ml_paths.hpp"
#include "smrun/config/py_value.hpp"
#include "smrun/env/devices.hpp"
#include "smrun/env/env_list.hpp"
#include "smrun/hyperparams/hyperparameters.hpp"
#include "smrun/settings/settings.hpp"

namespace smrun::env {

struct TrainingEnvInputs {
  const config::JobConfig* job = nullptr;
  config::MlPaths paths;
  const EnvSnapshot* env = nullptr;
  settings::Settings settings;  // read_settings() of *env
  DeviceCounts devices;
  bool smddprun_installed = false;
  bool smddpmprun_installed = false;
  // Replace the values of secret-looking hyperparameters with "****" (for display only).
  bool redact_secrets = false;
};

struct TrainingEnv {
  config::MlPaths paths;
  config::ResourceConfig resource;
  config::PyValue input_data_config;
  std::optional<config::CheckpointConfig> checkpoint;
  hyperparams::SplitHyperparameters hyperparameters;
  std::vector<std::string> user_args;

  std::optional<std::string> user_entry_point;  // SAGEMAKER_PROGRAM, else sagemaker_program
  std::string module_name;                      // entry point minus ".py"; "None" if there is none
  std::string module_dir;                       // submit directory
  config::PyValue log_level = config::PyValue::integer(20);
  std::optional<std::string> framework_module;  // SAGEMAKER_TRAINING_MODULE
  std::optional<std::string> job_name;          // TRAINING_JOB_NAME
  std::string sagemaker_job_name;               // -> SAGEMAKER_JOB_NAME
  std::string region;                           // -> SAGEMAKER_REGION
  config::PyValue is_modelparallel_enabled;     // null / "" / false / true, like the reference

  config::PyValue distribution_instance_groups = config::PyValue::list();
  std::vector<std::string> distribution_hosts;
  std::vector<std::string> current_instance_group_hosts;
  std::string master_hostname;
  bool is_master = false;
  bool is_hetero = false;
  bool distribution_enabled = false;  // current group takes part in distribution

  DeviceCounts devices;
  bool smddprun_installed = false;
  bool smddpmprun_installed = false;
  // smrun's own SMRUN_* settings, for the steps that plan and run the job (never exported).
  settings::Settings settings;
};

TrainingEnv compute_training_env(const TrainingEnvInputs& inputs);

// dict(env): the 37 properties serialised into SM_TRAINING_ENV.
config::PyValue training_env_dict(const TrainingEnv& env);

// Environment.to_env_vars(): every SM_* variable in the reference's order, plus smrun's
// SM_CHECKPOINT_DIR when checkpointconfig.json is present.
EnvList sm_environment(const TrainingEnv& env);

// What the reference adds to the process environment besides SM_*: SAGEMAKER_JOB_NAME,
// CURRENT_HOST, SAGEMAKER_REGION, and PYTHONPATH with the code dir first.
EnvList process_extras(const TrainingEnv& env, const EnvSnapshot& process_env);

}  // namespace smrun::env
