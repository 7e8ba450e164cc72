#include "smrun/launch/process_plan.hpp"

namespace smrun::launch {

base::Expected<std::string> require_entry_point(const env::TrainingEnv& training) {
  if (!training.user_entry_point || training.user_entry_point->empty())
    return base::fail(base::ErrorKind::kCode,
                      "no entry point: set the SAGEMAKER_PROGRAM environment variable or the "
                      "sagemaker_program hyperparameter (e.g. \"train.py\")");
  return *training.user_entry_point;
}

base::Expected<ProcessPlan> make_process_plan(const env::TrainingEnv& training,
                                              const env::EnvSnapshot& process_env,
                                              const std::filesystem::path& code_dir, bool dry_run) {
  auto entry = require_entry_point(training);
  if (!entry) return base::Unexpected(entry.error());

  ProcessPlan plan;
  plan.entry_point = *entry;
  plan.cwd = training.paths.code;
  plan.kind = code::classify_entry_point(plan.entry_point, code_dir);
  const std::string python = training.settings.python;

  code::RunCommandInput input;
  input.kind = plan.kind;
  input.entry_point = plan.entry_point;
  input.code_dir = code_dir;
  input.python = python;
  input.args = training.user_args;
  input.prepare_files = !dry_run;
  auto command = code::build_run_command(input);
  if (!command) return base::Unexpected(command.error());
  plan.command = std::move(*command);
  plan.install_command = code::build_install_command(plan.kind, code_dir, python);

  plan.smrun_env = env::sm_environment(training);
  plan.smrun_env.append(env::process_extras(training, process_env));
  return plan;
}

std::vector<std::string> child_environment(const env::EnvSnapshot& inherited,
                                           const env::EnvList& smrun_env) {
  env::EnvList all;
  for (const auto& [k, v] : inherited) all.set(k, v);
  all.append(smrun_env);
  return all.to_strings();
}

supervise::ProcessSpec install_spec(const ProcessPlan& plan, const env::EnvSnapshot& inherited,
                                    const std::string& host) {
  supervise::ProcessSpec spec;
  spec.argv = plan.install_command.value_or(std::vector<std::string>{});
  spec.env = child_environment(inherited, plan.smrun_env);
  spec.cwd = plan.cwd;
  spec.label = host + ":install";
  spec.host = host;
  return spec;
}

}  // namespace smrun::launch
