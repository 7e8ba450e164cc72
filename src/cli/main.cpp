#include "smrun/cli/main.hpp"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "smrun/base/exit_code.hpp"
#include "smrun/cli/commands.hpp"
#include "smrun/cli/help.hpp"
#include "smrun/cli/logging.hpp"
#include "smrun/cli/version.hpp"
#include "smrun/supervise/signals.hpp"

extern char** environ;

namespace smrun::cli {
namespace {

std::string basename_of(const char* path) {
  std::string s = path == nullptr ? "" : path;
  auto slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

}  // namespace

int run_main(int argc, char** argv) {
  // First thing, before any thread exists: signals that arrive during start-up must wait for the
  // supervisor instead of killing (or, as PID 1, being ignored by) smrun.
  supervise::block_supervised_signals();
  setup_logging();
  env::EnvSnapshot process_env = env::snapshot_environment(environ);

  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  std::string command;
  if (basename_of(argc > 0 ? argv[0] : nullptr) == "train") {
    command = "train";  // `docker run IMAGE train` with smrun installed as `train`
  } else if (!args.empty()) {
    command = args.front();
    args.erase(args.begin());
  }

  if (command == "train") return run_train_command(args, std::move(process_env));
  if (command == "env") return run_env_command(args, std::move(process_env));
  if (command == "pack") return run_pack_command(args, process_env);
  if (command == "s3") return run_s3_command(args, process_env);
  if (command == "local") return run_local_command(args, process_env);
  if (command == "version" || command == "--version") {
    if (!args.empty() && (args.front() == "--help" || args.front() == "-h")) {
      fmt::print("{}", command_help("version"));
      return base::kExitSuccess;
    }
    if (!args.empty()) return usage_error("version", "unexpected argument '" + args.front() + "'");
    fmt::print("{}\n", version_line());
    return base::kExitSuccess;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    fmt::print("{}", command_help(args.empty() ? "" : args.front()));
    return base::kExitSuccess;
  }
  if (command.empty()) return usage_error("", "no command given");
  return usage_error("", "unknown command '" + command + "'");
}

}  // namespace smrun::cli
