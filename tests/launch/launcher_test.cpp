#include "smrun/launch/launcher.hpp"

#include <gtest/gtest.h>

#include "launch/launch_fixture.hpp"

namespace smrun::launch {
namespace {

using testing::Job;
using testing::JobSpec;

LauncherChoice choose(JobSpec spec) {
  Job job(spec);
  auto choice = select_launcher(job.training());
  EXPECT_TRUE(choice.has_value()) << (choice ? "" : choice.error().message);
  return choice ? *choice : LauncherChoice{};
}

std::string choose_error(JobSpec spec) {
  Job job(spec);
  if (job.settings_error()) return job.settings_error()->message;  // SMRUN_LAUNCHER
  auto choice = select_launcher(job.training());
  EXPECT_FALSE(choice.has_value());
  return choice ? "" : choice.error().message;
}

TEST(LauncherNames, RoundTrip) {
  for (auto l : {Launcher::kProcess, Launcher::kNative, Launcher::kTorchrun, Launcher::kMpi})
    EXPECT_EQ(parse_launcher_name(launcher_name(l)), l);
  EXPECT_EQ(parse_launcher_name("MPI"), std::nullopt);
  EXPECT_EQ(parse_launcher_name(""), std::nullopt);
  EXPECT_STREQ(launcher_name(Launcher::kTorchrun), "torchrun");
}

TEST(SelectLauncher, NoDistributionFlagRunsOneProcess) {
  auto c = choose({});
  EXPECT_EQ(c.launcher, Launcher::kProcess);
  EXPECT_FALSE(c.explicit_choice);
  EXPECT_EQ(c.reason, "no distribution hyperparameter");
}

TEST(SelectLauncher, EachFrameworkFlag) {
  struct Case {
    const char* flag;
    Launcher launcher;
    MpiFlavor flavour;
  };
  for (const Case& c :
       {Case{"sagemaker_mpi_enabled", Launcher::kMpi, MpiFlavor::kOpenMpi},
        Case{"sagemaker_pytorch_ddp_enabled", Launcher::kNative, MpiFlavor::kSmDataParallel},
        Case{"sagemaker_torch_distributed_enabled", Launcher::kNative, MpiFlavor::kOpenMpi},
        Case{"sagemaker_distributed_dataparallel_enabled", Launcher::kMpi,
             MpiFlavor::kSmDataParallel},
        Case{"sagemaker_pytorch_xla_multi_worker_enabled", Launcher::kNative,
             MpiFlavor::kOpenMpi}}) {
    JobSpec spec;
    spec.hyperparameters = {{c.flag, "true"}};
    auto choice = choose(spec);
    EXPECT_EQ(choice.launcher, c.launcher) << c.flag;
    EXPECT_EQ(choice.mpi_flavor, c.flavour) << c.flag;
    EXPECT_EQ(choice.reason, c.flag);
  }
}

TEST(SelectLauncher, FalseFlagIsIgnored) {
  JobSpec spec;
  spec.hyperparameters = {{"sagemaker_mpi_enabled", "false"}};
  EXPECT_EQ(choose(spec).launcher, Launcher::kProcess);
}

TEST(SelectLauncher, ReferenceOrderFirstMatchWins) {
  JobSpec spec;
  spec.hyperparameters = {{"sagemaker_torch_distributed_enabled", "true"},
                          {"sagemaker_mpi_enabled", "true"}};
  EXPECT_EQ(choose(spec).launcher, Launcher::kMpi);
  spec.hyperparameters = {{"sagemaker_distributed_dataparallel_enabled", "true"},
                          {"sagemaker_torch_distributed_enabled", "true"}};
  auto c = choose(spec);
  EXPECT_EQ(c.launcher, Launcher::kNative);
  EXPECT_EQ(c.reason, "sagemaker_torch_distributed_enabled");
}

TEST(SelectLauncher, HyperparameterOverrideBeatsEnvironment) {
  JobSpec spec;
  spec.hyperparameters = {{"sagemaker_torch_distributed_enabled", "true"},
                          {"smrun_launcher", "torchrun"}};
  spec.env = {{"SMRUN_LAUNCHER", "mpi"}};
  auto c = choose(spec);
  EXPECT_EQ(c.launcher, Launcher::kTorchrun);
  EXPECT_TRUE(c.explicit_choice);
  EXPECT_EQ(c.reason, "hyperparameter smrun_launcher=torchrun");
}

TEST(SelectLauncher, EnvironmentOverride) {
  JobSpec spec;
  spec.hyperparameters = {{"sagemaker_torch_distributed_enabled", "true"}};
  spec.env = {{"SMRUN_LAUNCHER", "process"}};
  auto c = choose(spec);
  EXPECT_EQ(c.launcher, Launcher::kProcess);
  EXPECT_EQ(c.reason, "SMRUN_LAUNCHER=process");
}

TEST(SelectLauncher, OverrideWithoutAnyFlagApplies) {
  JobSpec spec;
  spec.env = {{"SMRUN_LAUNCHER", "native"}};
  EXPECT_EQ(choose(spec).launcher, Launcher::kNative);
}

TEST(SelectLauncher, OverrideToMpiKeepsTheSmddpFlavourOfPytorchDdp) {
  JobSpec spec;
  spec.hyperparameters = {{"sagemaker_pytorch_ddp_enabled", "true"}, {"smrun_launcher", "mpi"}};
  auto c = choose(spec);
  EXPECT_EQ(c.launcher, Launcher::kMpi);
  EXPECT_EQ(c.mpi_flavor, MpiFlavor::kSmDataParallel);
}

TEST(SelectLauncher, InvalidEnvironmentValue) {
  JobSpec spec;
  spec.env = {{"SMRUN_LAUNCHER", "Native"}};
  EXPECT_EQ(choose_error(spec),
            "environment variable SMRUN_LAUNCHER='Native': expected one of process, native, "
            "torchrun, mpi");
}

TEST(SelectLauncher, InvalidEnvironmentValueIsAnErrorEvenWhenTheHyperparameterDecides) {
  JobSpec spec;
  spec.hyperparameters = {{"smrun_launcher", "native"}};
  spec.env = {{"SMRUN_LAUNCHER", "mpirun"}};
  EXPECT_EQ(choose_error(spec),
            "environment variable SMRUN_LAUNCHER='mpirun': expected one of process, native, "
            "torchrun, mpi");
}

TEST(SelectLauncher, InvalidHyperparameterValue) {
  JobSpec spec;
  spec.hyperparameters = {{"smrun_launcher", "\"torch run\""}};
  EXPECT_EQ(choose_error(spec),
            "hyperparameter smrun_launcher='torch run': expected one of process, native, "
            "torchrun, mpi");
  spec.hyperparameters = {{"smrun_launcher", "3"}};
  EXPECT_EQ(choose_error(spec),
            "hyperparameter smrun_launcher=3: expected one of process, native, torchrun, mpi");
}

// Heterogeneous cluster: only group "gpu" distributes; the "cpu" group runs one process, as in
// the reference, and an override does not drag it into the gang.
TEST(SelectLauncher, HostOutsideTheDistributionGroupsRunsOneProcess) {
  auto hetero = [](const std::string& current, const std::string& group) {
    return R"({"current_host": ")" + current + R"(", "hosts": ["algo-1", "algo-2", "algo-3"],
          "current_group_name": ")" +
           group + R"(", "current_instance_type": "ml.c5.xlarge",
          "instance_groups": [
            {"instance_group_name": "gpu", "instance_type": "ml.p4d.24xlarge", "hosts": ["algo-1", "algo-2"]},
            {"instance_group_name": "cpu", "instance_type": "ml.c5.xlarge", "hosts": ["algo-3"]}]})";
  };
  JobSpec spec;
  spec.resource = hetero("algo-3", "cpu");
  spec.hyperparameters = {{"sagemaker_torch_distributed_enabled", "true"},
                          {"sagemaker_distribution_instance_groups", R"(["gpu"])"},
                          {"smrun_launcher", "native"}};
  auto c = choose(spec);
  EXPECT_EQ(c.launcher, Launcher::kProcess);
  EXPECT_EQ(c.reason, "instance group cpu is not in the distribution instance groups");

  spec.resource = hetero("algo-1", "gpu");
  EXPECT_EQ(choose(spec).launcher, Launcher::kNative);
}

}  // namespace
}  // namespace smrun::launch
