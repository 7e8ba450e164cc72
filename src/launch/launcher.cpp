#include "smrun/launch/launcher.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "smrun/hyperparams/py_format.hpp"

namespace smrun::launch {
namespace {

constexpr std::array<std::pair<Launcher, const char*>, 4> kNames{{
    {Launcher::kProcess, "process"},
    {Launcher::kNative, "native"},
    {Launcher::kTorchrun, "torchrun"},
    {Launcher::kMpi, "mpi"},
}};

constexpr const char* kAllowed = "expected one of process, native, torchrun, mpi";

struct FlagRule {
  const char* flag;
  Launcher launcher;
  MpiFlavor flavour;
};

// The reference's order (sagemaker_pytorch_container/training.py): first truthy flag wins.
// pytorch_ddp is native PyTorch DDP: the reference routes it through smddprun under mpirun,
// which only AWS images provide; smrun's native launcher gives DDP the env:// contract it needs
// without sshd. The XLA flag (Training Compiler's xla_spawn) gets the same contract, which
// torch-xla's PJRT runtime reads.
constexpr std::array<FlagRule, 5> kFlagRules{{
    {"sagemaker_mpi_enabled", Launcher::kMpi, MpiFlavor::kOpenMpi},
    {"sagemaker_pytorch_ddp_enabled", Launcher::kNative, MpiFlavor::kSmDataParallel},
    {"sagemaker_torch_distributed_enabled", Launcher::kNative, MpiFlavor::kOpenMpi},
    {"sagemaker_distributed_dataparallel_enabled", Launcher::kMpi, MpiFlavor::kSmDataParallel},
    {"sagemaker_pytorch_xla_multi_worker_enabled", Launcher::kNative, MpiFlavor::kOpenMpi},
}};

const config::PyValue* find_in(const config::PyDict& dict, std::string_view key) {
  for (const auto& [k, v] : dict)
    if (k == key) return &v;
  return nullptr;
}

const FlagRule* matching_flag(const env::TrainingEnv& training) {
  for (const auto& rule : kFlagRules) {
    const config::PyValue* v = find_in(training.hyperparameters.framework, rule.flag);
    if (v != nullptr && v->truthy()) return &rule;
  }
  return nullptr;
}

}  // namespace

const char* launcher_name(Launcher launcher) {
  for (const auto& [l, name] : kNames)
    if (l == launcher) return name;
  return "process";
}

std::optional<Launcher> parse_launcher_name(std::string_view name) {
  for (const auto& [l, n] : kNames)
    if (name == n) return l;
  return std::nullopt;
}

base::Expected<std::optional<Launcher>> launcher_override(const env::TrainingEnv& training) {
  // SMRUN_LAUNCHER was checked against the same names when the settings were read.
  std::optional<Launcher> from_env;
  if (training.settings.launcher) from_env = parse_launcher_name(*training.settings.launcher);
  if (const config::PyValue* hp = find_in(training.hyperparameters.smrun, "smrun_launcher")) {
    auto parsed = hp->is_str() ? parse_launcher_name(hp->as_str()) : std::nullopt;
    if (!parsed)
      return base::fail(base::ErrorKind::kConfig, "hyperparameter smrun_launcher=" +
                                                      hyperparams::py_repr(*hp) + ": " + kAllowed);
    return std::optional<Launcher>(*parsed);
  }
  return from_env;
}

base::Expected<LauncherChoice> select_launcher(const env::TrainingEnv& training) {
  auto override = launcher_override(training);
  if (!override) return base::Unexpected(override.error());

  LauncherChoice choice;
  const FlagRule* flag = matching_flag(training);
  // Meaningful only for kMpi; set from the SDK flag so that smrun_launcher=mpi on a pytorchddp
  // job gives the reference's smddp command.
  if (flag != nullptr) choice.mpi_flavor = flag->flavour;

  const bool groups_configured = training.distribution_instance_groups.truthy();
  if (groups_configured && !training.distribution_enabled) {
    choice.reason = "instance group " + training.resource.current_group_name +
                    " is not in the distribution instance groups";
    return choice;
  }
  if (*override) {
    choice.launcher = **override;
    choice.explicit_choice = true;
    const bool from_hp = find_in(training.hyperparameters.smrun, "smrun_launcher") != nullptr;
    choice.reason = std::string(from_hp ? "hyperparameter smrun_launcher=" : "SMRUN_LAUNCHER=") +
                    launcher_name(choice.launcher);
    return choice;
  }
  if (flag != nullptr) {
    choice.launcher = flag->launcher;
    choice.reason = flag->flag;
    return choice;
  }
  choice.reason = "no distribution hyperparameter";
  return choice;
}

base::Expected<int> max_restarts(const env::TrainingEnv& training) {
  constexpr int kMax = 1000;
  const config::PyValue* hp = find_in(training.hyperparameters.smrun, "smrun_max_restarts");
  if (hp == nullptr) return training.settings.max_restarts;
  std::optional<std::int64_t> value;
  if (hp->is_int()) {
    value = hp->as_int64();
  } else if (hp->is_str() && !hp->as_str().empty() && hp->as_str().size() <= 4 &&
             hp->as_str().find_first_not_of("0123456789") == std::string::npos) {
    value = std::stoll(hp->as_str());
  }
  if (!value || *value < 0 || *value > kMax)
    return base::fail(base::ErrorKind::kConfig,
                      fmt::format("hyperparameter smrun_max_restarts={}: expected an integer "
                                  "from 0 to {}",
                                  hyperparams::py_repr(*hp), kMax));
  return static_cast<int>(*value);
}

}  // namespace smrun::launch
