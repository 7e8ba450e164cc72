#pragma once

// Builds the real inputs of distributed planning (JobConfig -> TrainingEnv -> ProcessPlan) from
// small JSON snippets, the way cli/job_context.cpp does, with the user's code in a temp dir.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "smrun/config/job_config.hpp"
#include "smrun/env/training_env.hpp"
#include "smrun/launch/launch_plan.hpp"
#include "smrun/launch/process_plan.hpp"
#include "support/test_support.hpp"

namespace smrun::launch::testing {

// resourceconfig.json for `hosts` in one group "train", current host `current`.
std::string resource_json(const std::vector<std::string>& hosts, const std::string& current,
                          const std::string& instance_type = "ml.p4d.24xlarge",
                          const std::string& iface = "eth0");

struct JobSpec {
  std::string resource = resource_json({"algo-1"}, "algo-1");
  // hyperparameters.json entries: name -> raw JSON text, e.g. {"sagemaker_mpi_enabled", "true"}.
  std::vector<std::pair<std::string, std::string>> hyperparameters;
  env::EnvSnapshot env;
  env::DeviceCounts devices{8, 0, 0};
  std::optional<config::CheckpointConfig> checkpoint;
  std::string entry_point = "train.py";  // written into the code dir
  std::vector<std::string> code_files;   // extra files, e.g. "setup.py"
};

class Job {
 public:
  explicit Job(const JobSpec& spec);

  const env::TrainingEnv& training() const { return m_training; }
  const env::EnvSnapshot& env() const { return m_env; }
  const ProcessPlan& process() const { return m_process; }
  std::filesystem::path error_dir() const { return m_dir / "errors"; }

  base::Expected<LaunchTopology> topology() const;
  // What reading the SMRUN_* settings of spec.env failed with, if it did.
  const std::optional<base::Error>& settings_error() const { return m_settings_error; }
  base::Expected<LaunchPlan> plan(std::optional<std::string> master_ip = std::nullopt) const;

 private:
  test::TempDir m_dir;
  std::optional<base::Error> m_settings_error;
  config::JobConfig m_job;
  env::EnvSnapshot m_env;
  env::TrainingEnv m_training;
  ProcessPlan m_process;
};

// "NAME=VALUE" items -> map (a duplicate name would be a bug in the plan: it fails the test).
std::map<std::string, std::string> env_map(const std::vector<std::string>& items);

}  // namespace smrun::launch::testing
