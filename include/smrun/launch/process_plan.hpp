#pragma once

// What `train` will run on this host, computed before anything runs: the install step, the
// user's argv, cwd and the variables smrun sets. `smrun env` prints exactly this plan.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/code/entry_point.hpp"
#include "smrun/env/env_list.hpp"
#include "smrun/env/training_env.hpp"
#include "smrun/supervise/process_spec.hpp"

namespace smrun::launch {

struct ProcessPlan {
  std::string entry_point;
  code::EntryPointKind kind = code::EntryPointKind::kPythonProgram;
  std::vector<std::string> command;  // exact argv, never a shell string
  std::filesystem::path cwd;         // the code dir, like the reference
  env::EnvList smrun_env;            // SM_* and the extras smrun sets
  std::optional<std::vector<std::string>> install_command;
};

// The entry point name, or a kCode error explaining how to set one.
base::Expected<std::string> require_entry_point(const env::TrainingEnv& training);

// Classifies the entry point against `code_dir` (which must hold the user's code by now) and
// builds the install and run commands.
// `dry_run` plans without touching any file (see code::RunCommandInput::prepare_files).
base::Expected<ProcessPlan> make_process_plan(const env::TrainingEnv& training,
                                              const env::EnvSnapshot& process_env,
                                              const std::filesystem::path& code_dir,
                                              bool dry_run = false);

// The child's full environment: everything smrun inherited, overridden by what smrun sets.
std::vector<std::string> child_environment(const env::EnvSnapshot& inherited,
                                           const env::EnvList& smrun_env);

// The install step (plan.install_command, which must be set) as a process on `host`: the code
// dir as cwd and the same environment the program gets; labelled "<host>:install".
supervise::ProcessSpec install_spec(const ProcessPlan& plan, const env::EnvSnapshot& inherited,
                                    const std::string& host);

}  // namespace smrun::launch
