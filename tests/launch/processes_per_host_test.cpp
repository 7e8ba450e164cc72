#include "smrun/launch/processes_per_host.hpp"

#include <gtest/gtest.h>

#include "launch/launch_fixture.hpp"
#include "smrun/launch/instance_profile.hpp"

namespace smrun::launch {
namespace {

using testing::Job;
using testing::JobSpec;
using testing::resource_json;

int nproc(JobSpec spec) {
  Job job(spec);
  auto n = processes_per_host(job.training());
  EXPECT_TRUE(n.has_value()) << (n ? "" : n.error().message);
  return n ? *n : -1;
}

std::string nproc_error(JobSpec spec) {
  Job job(spec);
  if (job.settings_error()) return job.settings_error()->message;  // SMRUN_NPROC_PER_NODE
  auto n = processes_per_host(job.training());
  EXPECT_FALSE(n.has_value());
  return n ? "" : n.error().message;
}

JobSpec devices(int gpus, int neurons, const std::string& type = "ml.m5.xlarge") {
  JobSpec spec;
  spec.resource = resource_json({"algo-1"}, "algo-1", type);
  spec.devices = {4, gpus, neurons};
  return spec;
}

// Vectors runner/processes_per_host/*.
TEST(ProcessesPerHost, ReferenceVectors) {
  EXPECT_EQ(nproc(devices(0, 0)), 1);
  EXPECT_EQ(nproc(devices(2, 0)), 2);
  EXPECT_EQ(nproc(devices(0, 2)), 2);
  JobSpec spec = devices(8, 0);
  spec.hyperparameters = {{"sagemaker_mpi_num_of_processes_per_host", "3"}};
  EXPECT_EQ(nproc(spec), 3);
}

TEST(ProcessesPerHost, FalsyHyperparameterFallsBackToDevices) {
  JobSpec spec = devices(8, 0);
  spec.hyperparameters = {{"sagemaker_mpi_num_of_processes_per_host", "0"}};
  EXPECT_EQ(nproc(spec), 8);
}

TEST(ProcessesPerHost, NeuronCoreTableWhenNeuronLsFoundNothing) {
  EXPECT_EQ(nproc(devices(0, 0, "ml.trn1.2xlarge")), 2);
  EXPECT_EQ(nproc(devices(0, 0, "ml.trn1.32xlarge")), 32);
  EXPECT_EQ(nproc(devices(0, 0, "trn1n.32xlarge")), 32);
  EXPECT_EQ(nproc(devices(0, 0, "ml.trn2.48xlarge")), 64);
  EXPECT_EQ(nproc(devices(0, 16, "ml.trn1.32xlarge")), 16);  // neuron-ls wins when it reports
}

TEST(ProcessesPerHost, EnvironmentOverrideWins) {
  JobSpec spec = devices(8, 0);
  spec.hyperparameters = {{"sagemaker_mpi_num_of_processes_per_host", "3"}};
  spec.env = {{"SMRUN_NPROC_PER_NODE", "5"}};
  EXPECT_EQ(nproc(spec), 5);
}

TEST(ProcessesPerHost, InvalidEnvironmentOverride) {
  for (const char* bad : {"0", "-1", "two", "", "4 "}) {
    JobSpec spec = devices(8, 0);
    spec.env = {{"SMRUN_NPROC_PER_NODE", bad}};
    EXPECT_EQ(nproc_error(spec), std::string("environment variable SMRUN_NPROC_PER_NODE='") + bad +
                                     "': expected an integer from 1 to 1048576");
  }
}

TEST(ProcessesPerHost, InvalidHyperparameter) {
  JobSpec spec = devices(8, 0);
  spec.hyperparameters = {{"sagemaker_mpi_num_of_processes_per_host", "\"four\""}};
  EXPECT_EQ(nproc_error(spec),
            "hyperparameter sagemaker_mpi_num_of_processes_per_host='four': expected a positive "
            "integer");
  spec.hyperparameters = {{"sagemaker_mpi_num_of_processes_per_host", "-2"}};
  EXPECT_EQ(
      nproc_error(spec),
      "hyperparameter sagemaker_mpi_num_of_processes_per_host=-2: expected a positive integer");
}

// Vector runner/mpi_extra_opts: per-host count, total count and custom options.
TEST(ProcessesPerHost, MpiNumProcesses) {
  JobSpec spec = devices(8, 0);
  spec.hyperparameters = {{"sagemaker_mpi_num_of_processes_per_host", "2"},
                          {"sagemaker_mpi_num_processes", "4"}};
  Job job(spec);
  EXPECT_EQ(*processes_per_host(job.training()), 2);
  EXPECT_EQ(*mpi_num_processes(job.training()), std::optional<int>(4));
  Job none(devices(8, 0));
  EXPECT_EQ(*mpi_num_processes(none.training()), std::nullopt);
}

TEST(InstanceProfile, Table) {
  EXPECT_EQ(strip_ml_prefix("ml.p4d.24xlarge"), "p4d.24xlarge");
  EXPECT_EQ(strip_ml_prefix("local_gpu"), "local_gpu");
  auto p4d = instance_profile("ml.p4d.24xlarge");
  ASSERT_TRUE(p4d);
  EXPECT_TRUE(p4d->efa);
  EXPECT_TRUE(p4d->device_rdma);
  auto p5 = instance_profile("p5.48xlarge");
  ASSERT_TRUE(p5);
  EXPECT_TRUE(p5->efa);
  EXPECT_FALSE(p5->device_rdma);
  auto small = instance_profile("ml.trn1.2xlarge");
  ASSERT_TRUE(small);
  EXPECT_FALSE(small->efa);
  EXPECT_EQ(small->neuron_cores, 2);
  EXPECT_FALSE(instance_profile("ml.p3.16xlarge"));
  EXPECT_FALSE(instance_profile("ml.p4d.24xlarge.extra"));
  EXPECT_TRUE(is_trainium_instance("ml.trn2.48xlarge"));
  EXPECT_FALSE(is_trainium_instance("ml.p4d.24xlarge"));
}

}  // namespace
}  // namespace smrun::launch
