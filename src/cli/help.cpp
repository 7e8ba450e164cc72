#include "smrun/cli/help.hpp"

#include <fmt/format.h>

#include <vector>

#include "smrun/base/exit_code.hpp"
#include "smrun/base/printable.hpp"
#include "smrun_env_spec.hpp"

namespace smrun::cli {
namespace {

struct ExitCodeRow {
  std::string_view code;
  std::string_view meaning;
};

struct CommandInfo {
  std::string_view name;
  std::string_view usage;        // after "usage: "
  std::string_view description;  // one paragraph
  std::string_view options;      // pre-formatted rows
  bool (*reads)(std::string_view variable);
  std::vector<ExitCodeRow> exit_codes;
};

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}
bool reads_everything(std::string_view) {
  return true;
}
bool reads_nothing(std::string_view) {
  return false;
}
bool reads_s3_settings(std::string_view v) {
  return starts_with(v, "AWS_") || starts_with(v, "SMRUN_S3_") || v == "S3_ENDPOINT_URL" ||
         v == "SSL_CERT_FILE" || v == "HOME";
}

const std::vector<CommandInfo>& commands() {
  static const std::vector<CommandInfo> kCommands = {
      {"train",
       "smrun train",
       "Runs the training job described by $SAGEMAKER_BASE_DIR (default /opt/ml): reads\n"
       "input/config/*.json, fetches the code, installs its requirements, runs the entry point\n"
       "(one process, or a torchrun-, MPI- or Neuron-style group on one or many hosts), "
       "supervises\n"
       "it, writes output/success or output/failure and packs the model. Installed or linked as\n"
       "`train`, smrun runs this command. SIGTERM reaches every worker (then SIGKILL after\n"
       "SMRUN_TERM_GRACE_SECONDS); a second Ctrl-C (SIGINT) kills the workers at once.",
       "  -h, --help           show this help\n",
       reads_everything,
       {{"0", "the program succeeded (and the model was packed, or packing was skipped)"},
        {"1-125", "the program's own exit code, passed through"},
        {"64", "usage error: smrun's command line"},
        {"65", "invalid config JSON or setting"},
        {"66", "user code missing, unfetchable or unpackable"},
        {"67", "requirements or package installation failed"},
        {"68", "model archive failed (SMRUN_PACK_MODEL=required)"},
        {"69", "cluster: peers missing, control channel lost"},
        {"70", "smrun bug or OS failure (e.g. an unwritable output dir)"},
        {"126", "the entry point cannot be executed"},
        {"127", "the entry point or its interpreter was not found"},
        {"128+N", "the program was killed by signal N (or smrun was stopped by it)"}}},
      {"env",
       "smrun env [--format json|dotenv|shell] [--show-secrets]",
       "Prints the environment, argv, command and cwd `smrun train` would use, without fetching,\n"
       "installing or running anything and without contacting any server. Secret-looking values\n"
       "are shown as **** unless --show-secrets; dotenv and shell output leave out variables "
       "whose\n"
       "names are not valid there (with a warning).",
       "  -f, --format FORMAT  json (default), dotenv or shell\n"
       "      --show-secrets   print secret-looking values instead of ****\n"
       "  -h, --help           show this help\n",
       reads_everything,
       {{"0", "printed"}, {"64", "usage error"}, {"65", "invalid config JSON or setting"}}},
      {"pack",
       "smrun pack DIR OUT [--level N] [--threads N]",
       "Packs DIR's contents into OUT as a POSIX tar of parallel-compressed gzip members, written\n"
       "atomically (OUT keeps its old content or holds the complete archive).",
       "  -l, --level N        compression level 1-12 (default 6)\n"
       "  -t, --threads N      compression threads (default 0: every CPU the affinity mask and\n"
       "                       cgroup CPU quota allow)\n"
       "  -h, --help           show this help\n",
       reads_nothing,
       {{"0", "packed"}, {"64", "usage error"}, {"68", "the archive could not be written"}}},
      {"local",
       "smrun local [--job request.json] [--hosts N] [--nproc-per-node P] --program FILE\n"
       "       [--source-dir DIR|ARCHIVE] [--hp KEY=VALUE]... [--channel NAME=DIR]... [--output "
       "DIR]",
       "Runs a whole job on this machine, without Docker, root or the SageMaker SDK: one `smrun\n"
       "train` per host, each with its own /opt/ml tree under the output dir and its own loopback\n"
       "address (127.A.B.1, .2, ...; no /etc/hosts entry needed). The hosts' logs stream with\n"
       "[host] / [host:rank] prefixes; at the end every host's model/ and output/ are merged\n"
       "into OUTPUT/model.tar.gz and OUTPUT/output.tar.gz, as SDK local mode does. --hp values\n"
       "are JSON-decoded like the SDK's (3 is a number, resnet a string). Ctrl-C stops every\n"
       "host (Ctrl-C again kills them). Exits with the job's exit code (the first host's when\n"
       "it failed).",
       "      --job FILE           a CreateTrainingJob request: HyperParameters, InputDataConfig\n"
       "                           (file:// URIs), ResourceConfig.InstanceCount/InstanceType,\n"
       "                           CheckpointConfig, Environment, TrainingJobName,\n"
       "                           OutputDataConfig (file://); the flags below win over it\n"
       "      --hosts N            simulated hosts, algo-1 .. algo-N (default 1, at most 250)\n"
       "      --nproc-per-node P   P ranks per host with the native launcher (torchrun's "
       "contract)\n"
       "      --program FILE       the entry point (in --source-dir, or a script shipped alone)\n"
       "      --source-dir SRC     the code: a directory, a tar archive, or s3://...\n"
       "      --hp KEY=VALUE       a hyperparameter (repeatable)\n"
       "      --channel NAME=DIR   an input channel, the directory itself (repeatable)\n"
       "      --instance-type T    current_instance_type (default local)\n"
       "      --checkpoint-dir DIR the checkpoint dir every host shares (SM_CHECKPOINT_DIR)\n"
       "      --job-name NAME      TRAINING_JOB_NAME (default smrun-local-<UTC time>)\n"
       "      --output DIR         new or empty dir for host trees and archives (default ./NAME)\n"
       "      --first-address IP   host 1's address (default a random 127.A.B.1)\n"
       "  -h, --help               show this help\n",
       reads_everything,
       {{"0", "every host succeeded and the archives were written"},
        {"1-125", "the job's exit code (the first host's when it failed)"},
        {"64", "usage error: flags, an output dir that is not empty"},
        {"65", "invalid request file or SMRUN_* setting"},
        {"66", "the program or source dir is missing"},
        {"68", "the job succeeded but its archives could not be written"},
        {"70", "OS failure (host trees, ports)"},
        {"128+N", "stopped by signal N"}}},
      {"s3",
       "smrun s3 cp SRC DST",
       "Copies one object: s3://bucket/key to a local file, or a local file to s3://bucket/key,\n"
       "with the credentials, region, endpoint, retries and TLS checks `train` uses (README: S3).\n"
       "A download replaces DST only when it is complete.",
       "  -h, --help           show this help\n",
       reads_s3_settings,
       {{"0", "copied"},
        {"64", "usage error"},
        {"65", "invalid AWS_* or SMRUN_S3_* setting"},
        {"66", "the transfer failed"}}},
      {"version",
       "smrun version",
       "Prints the version, git commit, build type and linkage.",
       "  -h, --help           show this help\n",
       reads_nothing,
       {{"0", "printed"}, {"64", "usage error"}}},
  };
  return kCommands;
}

const CommandInfo* find_command(std::string_view name) {
  for (const auto& c : commands())
    if (c.name == name) return &c;
  return nullptr;
}

// The first sentence of a meaning, for a one-line summary.
std::string_view first_sentence(std::string_view meaning) {
  for (std::size_t i = 0; i + 1 < meaning.size(); ++i)
    if (meaning[i] == '.' && meaning[i + 1] == ' ') return meaning.substr(0, i + 1);
  return meaning;
}

constexpr std::string_view kTopUsage =
    "usage: smrun <command> [options]\n"
    "\n"
    "commands:\n"
    "  train            run the training job in $SAGEMAKER_BASE_DIR (default /opt/ml)\n"
    "  env              print the environment and command `train` would use (dry run)\n"
    "  local            run a whole job on this machine: N hosts, no Docker or root\n"
    "  pack DIR OUT     pack DIR's contents into OUT (parallel gzip tar)\n"
    "  s3 cp SRC DST    copy one object to or from S3 with train's client and credentials\n"
    "  version          print the version, commit, build type and linkage\n"
    "\n"
    "`smrun <command> --help` describes each command, its settings and exit codes.\n"
    "Installed or linked under the name `train`, smrun behaves as `smrun train`.\n";

}  // namespace

std::string command_usage(std::string_view command) {
  if (const CommandInfo* c = find_command(command)) return fmt::format("usage: {}\n", c->usage);
  return std::string(kTopUsage);
}

std::string command_help(std::string_view command) {
  const CommandInfo* c = find_command(command);
  if (c == nullptr) return std::string(kTopUsage);
  std::string out =
      fmt::format("usage: {}\n\n{}\n\noptions:\n{}", c->usage, c->description, c->options);
  std::string settings;
  for (const auto& v : generated::kReadVariables)
    if (c->reads(v.name))
      settings +=
          fmt::format("  {:<40} {}\n      {}\n", v.name, v.format, first_sentence(v.meaning));
  if (!settings.empty())
    out += "\nsettings (environment variables; README.md, \"Variables smrun reads\", has more):\n" +
           settings;
  out += "\nexit codes:\n";
  for (const auto& row : c->exit_codes) out += fmt::format("  {:<6} {}\n", row.code, row.meaning);
  return out;
}

int usage_error(std::string_view command, std::string_view what) {
  fmt::print(stderr, "smrun: error: {}\n{}", what, command_usage(command));
  if (find_command(command) != nullptr)
    fmt::print(stderr, "(`smrun {} --help` for more)\n", command);
  return base::kExitUsage;
}

std::variant<cxxopts::ParseResult, int> parse_command_line(cxxopts::Options& parser,
                                                           std::string_view command,
                                                           const std::vector<std::string>& args) {
  std::vector<std::string> argv_store{"smrun " + std::string(command)};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  cxxopts::ParseResult opts;
  try {
    opts = parser.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const std::exception& e) {
    return usage_error(command, e.what());
  }
  if (opts.count("help")) {
    fmt::print("{}", command_help(command));
    return base::kExitSuccess;
  }
  if (!opts.unmatched().empty())
    return usage_error(command,
                       "unexpected argument '" + base::printable(opts.unmatched().front()) + "'");
  return opts;
}

}  // namespace smrun::cli
