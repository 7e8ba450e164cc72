#pragma once

// Everything `train` and `env` compute before touching user code: settings, config, devices,
// and the training environment twice — once real, once with secrets masked for display.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/config/job_config.hpp"
#include "smrun/env/env_list.hpp"
#include "smrun/env/training_env.hpp"
#include "smrun/settings/settings.hpp"

namespace smrun::cli {

struct JobContext {
  env::EnvSnapshot process_env;
  config::MlPaths paths;
  std::string hostname;
  config::JobConfig job;
  env::TrainingEnv training;  // what the user program gets; .settings: every SMRUN_* setting
  env::TrainingEnv display;   // same, secret-looking hyperparameters masked
  std::vector<std::string> secret_values;  // to scrub from anything smrun writes
  // How long the program ran (set once it was started), for the last log line.
  std::optional<std::chrono::steady_clock::duration> program_time;
};

// Fails with the error and, when it got that far, the paths (so the failure file can be written).
struct JobContextError {
  base::Error error;
  std::optional<config::MlPaths> paths;
  std::string hostname;
};

base::Expected<JobContext, JobContextError> load_job_context(env::EnvSnapshot process_env);

// SAGEMAKER_BASE_DIR, else /opt/ml: where the job's files are, read on its own so that even a
// bad setting can be reported in the job's output dir.
std::filesystem::path base_dir(const env::EnvSnapshot& process_env);

// The directory holding the code to classify for a dry run: the code dir if it has files, else
// a local submit directory, else the code dir.
std::filesystem::path code_dir_for_dry_run(const JobContext& ctx);

}  // namespace smrun::cli
