#pragma once

#include <string>
#include <vector>

#include "smrun/env/env_list.hpp"

namespace smrun::cli {

// Each subcommand takes its own arguments (without the subcommand name) and the environment
// snapshot, and returns the process exit code.
int run_train_command(const std::vector<std::string>& args, env::EnvSnapshot process_env);
int run_env_command(const std::vector<std::string>& args, env::EnvSnapshot process_env);
int run_pack_command(const std::vector<std::string>& args, const env::EnvSnapshot& process_env);
int run_local_command(const std::vector<std::string>& args, const env::EnvSnapshot& process_env);
int run_s3_command(const std::vector<std::string>& args, const env::EnvSnapshot& process_env);

}  // namespace smrun::cli
