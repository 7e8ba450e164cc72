#include "smrun/launch/mpi_plan.hpp"

#include <gtest/gtest.h>

#include "launch/launch_fixture.hpp"

namespace smrun::launch {
namespace {

using Argv = std::vector<std::string>;
using testing::env_map;
using testing::Job;
using testing::JobSpec;
using testing::resource_json;

const Argv kProgram{"python3", "-u", "train.py", "-v", "--lr", "35"};

TEST(CustomMpiOptions, KnownOptionAndVerbatimRest) {
  // Vector runner/mpi_extra_opts: "-X NCCL_DEBUG=WARN" is not the known option.
  auto a = parse_custom_mpi_options("-X NCCL_DEBUG=WARN", "h");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->nccl_debug, std::nullopt);
  EXPECT_EQ(a->extra, (Argv{"-X", "NCCL_DEBUG=WARN"}));

  auto b = parse_custom_mpi_options("  --verbose\t--NCCL_DEBUG WARN -x A=1  --NCCL=TRACE\n", "h");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->nccl_debug, std::optional<std::string>("TRACE"));  // last one, abbreviated
  EXPECT_EQ(b->extra, (Argv{"--verbose", "-x", "A=1"}));

  EXPECT_EQ(parse_custom_mpi_options("", "h")->extra, Argv{});
  EXPECT_EQ(parse_custom_mpi_options("--NCCL_DEBUGX 1", "h")->extra, (Argv{"--NCCL_DEBUGX", "1"}));
}

TEST(CustomMpiOptions, MissingValue) {
  for (const char* text : {"--NCCL_DEBUG", "--NCCL_DEBUG -x A"}) {
    auto r = parse_custom_mpi_options(text, "sagemaker_mpi_custom_mpi_options");
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_EQ(r.error().message,
              "hyperparameter sagemaker_mpi_custom_mpi_options: --NCCL_DEBUG expects a value");
  }
}

// Vector mpi_modelparallel/torch2.
TEST(ModelParallel, Torch2Vector) {
  ModelParallelInputs in;
  in.mp_parameters = R"({"partitions": 2})";
  in.dlc_torch_version = "2.0.0";
  auto mp = modelparallel_options(in);
  EXPECT_EQ(mp.mpi_options, (Argv{"-x", "NCCL_PROTO=simple", "-x", "NCCL_ALGO=ring"}));
  EXPECT_EQ(mp.program_prefix, Argv{});
}

TEST(ModelParallel, Torch1SmddpmprunAndDisabled) {
  ModelParallelInputs in;
  in.mp_parameters = R"({"partitions": 2})";
  in.dlc_torch_version = "1.13.1";
  in.smddpmprun_installed = true;
  in.instance_type = "ml.p4d.24xlarge";
  auto mp = modelparallel_options(in);
  EXPECT_EQ(mp.mpi_options, (Argv{"-x", "NCCL_PROTO=simple"}));
  EXPECT_EQ(mp.program_prefix, (Argv{"smddpmprun", "-i", "ml.p4d.24xlarge", "--allow-bypass"}));

  in.mp_parameters = R"({"ddp_dist_backend": "nccl"})";
  in.dlc_torch_version.reset();
  mp = modelparallel_options(in);
  EXPECT_EQ(mp.mpi_options, Argv{});
  EXPECT_EQ(mp.program_prefix, Argv{});

  in.mp_parameters = "{}";
  in.dlc_torch_version = "2.1";
  EXPECT_EQ(modelparallel_options(in).mpi_options, Argv{});
}

MpiInputs two_hosts() {
  MpiInputs in;
  in.hosts = {"algo-1", "algo-2"};
  in.processes_per_host = 2;
  in.interface_name = "ethw3";
  in.instance_type = "ml.p4d.24xlarge";
  in.master_host = "algo-1";
  in.custom_options = "--NCCL_DEBUG WARN --verbose";
  in.process_env = {{"AWS_ACCESS_KEY_ID", "AKIA"}, {"PATH", "/bin"}};
  in.forwarded_names = {"SM_HOSTS", "SM_HPS", "PYTHONPATH"};
  in.program = kProgram;
  return in;
}

TEST(MpirunCommand, ReferenceOrderP4dTwoHosts) {
  auto cmd = mpirun_command(two_hosts());
  ASSERT_TRUE(cmd.has_value());
  Argv expected{"mpirun",
                "--host",
                "algo-1:2,algo-2:2",
                "-np",
                "4",
                "--allow-run-as-root",
                "--display-map",
                "--tag-output",
                "-mca",
                "btl_tcp_if_include",
                "ethw3",
                "-mca",
                "oob_tcp_if_include",
                "ethw3",
                "-mca",
                "plm_rsh_no_tree_spawn",
                "1",
                "-bind-to",
                "none",
                "-map-by",
                "slot",
                "-mca",
                "pml",
                "ob1",
                "-mca",
                "btl",
                "^openib",
                "-mca",
                "orte_abort_on_non_zero_status",
                "1",
                "-mca",
                "btl_vader_single_copy_mechanism",
                "none",
                "-x",
                "NCCL_MIN_NRINGS=4",
                "-x",
                "NCCL_SOCKET_IFNAME=ethw3",
                "-x",
                "NCCL_DEBUG=WARN",
                "-x",
                "LD_LIBRARY_PATH",
                "-x",
                "PATH",
                "--verbose",
                "-x",
                "FI_PROVIDER=efa",
                "-x",
                "NCCL_PROTO=simple",
                "-x",
                "FI_EFA_USE_DEVICE_RDMA=1",
                "-x",
                "RDMAV_FORK_SAFE=1",
                "-x",
                "AWS_ACCESS_KEY_ID",
                "-x",
                "SM_HOSTS",
                "-x",
                "SM_HPS",
                "-x",
                "PYTHONPATH"};
  expected.insert(expected.end(), kProgram.begin(), kProgram.end());
  EXPECT_EQ(*cmd, expected);
}

TEST(MpirunCommand, OneSlotHostsNumProcessesRshAgentAndUserValues) {
  MpiInputs in = two_hosts();
  in.processes_per_host = 1;
  in.num_processes = 3;
  in.instance_type = "ml.p3.16xlarge";
  in.custom_options = "";
  in.rsh_agent = "ssh -p 2222";
  in.process_env = {{"NCCL_DEBUG", "TRACE"}, {"NCCL_SOCKET_IFNAME", "eth9"}};
  in.forwarded_names = {"SM_HPS"};
  auto cmd = mpirun_command(in);
  ASSERT_TRUE(cmd.has_value());
  Argv expected{"mpirun",
                "--host",
                "algo-1,algo-2",
                "-np",
                "3",
                "--allow-run-as-root",
                "--display-map",
                "--tag-output",
                "-mca",
                "btl_tcp_if_include",
                "ethw3",
                "-mca",
                "oob_tcp_if_include",
                "ethw3",
                "-mca",
                "plm_rsh_no_tree_spawn",
                "1",
                "-bind-to",
                "none",
                "-map-by",
                "slot",
                "-mca",
                "pml",
                "ob1",
                "-mca",
                "btl",
                "^openib",
                "-mca",
                "orte_abort_on_non_zero_status",
                "1",
                "-mca",
                "btl_vader_single_copy_mechanism",
                "none",
                "-mca",
                "plm_rsh_agent",
                "ssh -p 2222",
                "-x",
                "NCCL_MIN_NRINGS=4",
                "-x",
                "NCCL_SOCKET_IFNAME",
                "-x",
                "NCCL_DEBUG",
                "-x",
                "LD_LIBRARY_PATH",
                "-x",
                "PATH",
                "-x",
                "SM_HPS"};
  expected.insert(expected.end(), kProgram.begin(), kProgram.end());
  EXPECT_EQ(*cmd, expected);
}

TEST(MpirunCommand, ModelParallelExtrasBeforeTheProgram) {
  MpiInputs in = two_hosts();
  in.custom_options = "";
  in.process_env = {};
  in.forwarded_names = {};
  in.instance_type = "ml.c5.xlarge";
  in.model_parallel = {R"({"partitions": 2})", "2.0.0", true, "ml.c5.xlarge"};
  auto cmd = mpirun_command(in);
  ASSERT_TRUE(cmd.has_value());
  Argv tail(cmd->end() - static_cast<long>(kProgram.size()) - 8, cmd->end());
  Argv expected{"-x",           "NCCL_PROTO=simple", "-x", "NCCL_ALGO=ring", "smddpmprun", "-i",
                "ml.c5.xlarge", "--allow-bypass"};
  expected.insert(expected.end(), kProgram.begin(), kProgram.end());
  EXPECT_EQ(tail, expected);
}

MpiInputs smddp(std::vector<std::string> hosts, int ppn, const std::string& type) {
  MpiInputs in;
  in.flavour = MpiFlavor::kSmDataParallel;
  in.hosts = std::move(hosts);
  in.processes_per_host = ppn;
  in.interface_name = "ethw3";
  in.instance_type = type;
  in.master_host = "algo-1";
  in.custom_options = "--verbose";
  in.custom_options_source = "sagemaker_distributed_dataparallel_custom_mpi_options";
  in.smddprun_installed = true;
  in.forwarded_names = {"SM_HPS"};
  in.program = kProgram;
  return in;
}

// Vector smdataparallel/multi_node, adapted: no LD_PRELOAD shim, `python -u` instead of
// `python -m mpi4py`, and SM_* forwarded by name (the reference relied on /etc/environment).
TEST(MpirunCommand, SmDataParallelMultiNodeVector) {
  auto cmd = mpirun_command(smddp({"algo-1", "algo-2"}, 2, "ml.p3.16xlarge"));
  ASSERT_TRUE(cmd.has_value());
  Argv expected{"mpirun",
                "--host",
                "algo-1:2,algo-2:2",
                "-np",
                "4",
                "--allow-run-as-root",
                "--tag-output",
                "--oversubscribe",
                "-mca",
                "btl_tcp_if_include",
                "ethw3",
                "-mca",
                "oob_tcp_if_include",
                "ethw3",
                "-mca",
                "plm_rsh_no_tree_spawn",
                "1",
                "-mca",
                "pml",
                "ob1",
                "-mca",
                "btl",
                "^openib",
                "-mca",
                "orte_abort_on_non_zero_status",
                "1",
                "-mca",
                "btl_vader_single_copy_mechanism",
                "none",
                "-mca",
                "plm_rsh_num_concurrent",
                "2",
                "-x",
                "NCCL_SOCKET_IFNAME=ethw3",
                "-x",
                "NCCL_DEBUG=INFO",
                "-x",
                "LD_LIBRARY_PATH",
                "-x",
                "PATH",
                "-x",
                "SMDATAPARALLEL_USE_HOMOGENEOUS=1",
                "-x",
                "FI_PROVIDER=efa",
                "-x",
                "RDMAV_FORK_SAFE=1",
                "--verbose",
                "-x",
                "SMDATAPARALLEL_SERVER_ADDR=algo-1",
                "-x",
                "SMDATAPARALLEL_SERVER_PORT=7592",
                "-x",
                "SAGEMAKER_INSTANCE_TYPE=ml.p3.16xlarge",
                "-x",
                "SM_HPS",
                "smddprun"};
  expected.insert(expected.end(), kProgram.begin(), kProgram.end());
  EXPECT_EQ(*cmd, expected);
}

// Vector smdataparallel/single_node_p4d, adapted the same way.
TEST(MpirunCommand, SmDataParallelSingleNodeVector) {
  auto cmd = mpirun_command(smddp({"algo-1"}, 4, "ml.p4d.24xlarge"));
  ASSERT_TRUE(cmd.has_value());
  Argv expected{"mpirun",
                "--host",
                "algo-1",
                "-np",
                "4",
                "--allow-run-as-root",
                "--tag-output",
                "--oversubscribe",
                "-mca",
                "btl_tcp_if_include",
                "ethw3",
                "-mca",
                "oob_tcp_if_include",
                "ethw3",
                "-mca",
                "plm_rsh_no_tree_spawn",
                "1",
                "-mca",
                "pml",
                "ob1",
                "-mca",
                "btl",
                "^openib",
                "-mca",
                "orte_abort_on_non_zero_status",
                "1",
                "-mca",
                "btl_vader_single_copy_mechanism",
                "none",
                "-mca",
                "plm_rsh_num_concurrent",
                "1",
                "-x",
                "NCCL_SOCKET_IFNAME=ethw3",
                "-x",
                "NCCL_DEBUG=INFO",
                "-x",
                "LD_LIBRARY_PATH",
                "-x",
                "PATH",
                "-x",
                "SMDATAPARALLEL_USE_SINGLENODE=1",
                "-x",
                "FI_PROVIDER=efa",
                "-x",
                "RDMAV_FORK_SAFE=1",
                "--verbose",
                "-x",
                "NCCL_PROTO=simple",
                "-x",
                "FI_EFA_USE_DEVICE_RDMA=1",
                "-x",
                "SM_HPS",
                "smddprun"};
  expected.insert(expected.end(), kProgram.begin(), kProgram.end());
  EXPECT_EQ(*cmd, expected);
}

JobSpec mpi_job(const std::string& current) {
  JobSpec spec;
  spec.resource = resource_json({"algo-1", "algo-2"}, current, "ml.p4d.24xlarge", "eth0");
  spec.hyperparameters = {{"sagemaker_mpi_enabled", "true"},
                          {"sagemaker_mpi_custom_mpi_options", "\"--NCCL_DEBUG=WARN -v\""},
                          {"secret_token", "\"s3cr3t value\""}};
  spec.devices = {8, 2, 0};
  spec.env = {{"PATH", "/usr/bin"}, {"SMRUN_MPI_RSH_AGENT", "/usr/bin/ssh"}};
  return spec;
}

TEST(MpiPlan, MasterRunsMpirunWithValuesOnlyByName) {
  Job job(mpi_job("algo-1"));
  auto plan = job.plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(plan->topology.choice.launcher, Launcher::kMpi);
  // The master runs the SSH daemon too (the reference does), as a service, then mpirun.
  ASSERT_EQ(plan->processes.size(), 2u);
  EXPECT_EQ(plan->processes[0].argv, (Argv{"/usr/sbin/sshd", "-D"}));
  EXPECT_EQ(plan->processes[0].label, "algo-1:sshd");
  EXPECT_TRUE(plan->processes[0].service);
  const auto& spec = plan->processes[1];
  EXPECT_FALSE(spec.service);
  EXPECT_EQ(spec.label, "algo-1:mpirun");
  const Argv& argv = spec.argv;
  EXPECT_EQ(Argv(argv.begin(), argv.begin() + 5),
            (Argv{"mpirun", "--host", "algo-1:2,algo-2:2", "-np", "4"}));
  EXPECT_EQ(Argv(argv.end() - 5, argv.end()),
            (Argv{"python3", "-u", "train.py", "--secret_token", "s3cr3t value"}));
  // SM_HPS holds the secret: it travels by name, its value only in mpirun's environment.
  const Argv before_program(argv.begin(), argv.end() - 5);
  for (const auto& a : before_program) EXPECT_EQ(a.find("s3cr3t"), std::string::npos) << a;
  EXPECT_NE(std::find(argv.begin(), argv.end(), "SM_HPS"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "SM_TRAINING_ENV"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "PYTHONPATH"), argv.end());
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "CURRENT_HOST"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "NCCL_DEBUG=WARN"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "/usr/bin/ssh"), argv.end());
  auto env = env_map(spec.env);
  EXPECT_EQ(env["SM_HP_SECRET_TOKEN"], "s3cr3t value");
  EXPECT_EQ(plan->added_env.size(), 0u);
}

TEST(MpiPlan, WorkerHostRunsOnlyItsSshDaemon) {
  Job job(mpi_job("algo-2"));
  auto plan = job.plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(plan->topology.node_rank, 1);
  EXPECT_FALSE(plan->topology.is_master);
  ASSERT_EQ(plan->processes.size(), 1u);
  EXPECT_EQ(plan->processes[0].argv, (Argv{"/usr/sbin/sshd", "-D"}));
  EXPECT_EQ(plan->processes[0].label, "algo-2:sshd");
  EXPECT_TRUE(plan->processes[0].service);
  EXPECT_EQ(plan->notes,
            (Argv{"MPI worker host: mpirun on algo-1 starts this host's ranks over ssh"}));
}

TEST(MpiPlan, SmDataParallelFromTheSdkFlag) {
  JobSpec spec = mpi_job("algo-1");
  spec.hyperparameters = {
      {"sagemaker_distributed_dataparallel_enabled", "true"},
      {"sagemaker_instance_type", "\"ml.p4d.24xlarge\""},
      {"sagemaker_distributed_dataparallel_custom_mpi_options", "\"--verbose\""}};
  spec.resource = resource_json({"algo-1", "algo-2"}, "algo-1", "ml.p3.16xlarge", "eth0");
  auto plan = Job(spec).plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  ASSERT_EQ(plan->processes.size(), 2u);
  const Argv& argv = plan->processes[1].argv;
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--oversubscribe"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "SAGEMAKER_INSTANCE_TYPE=ml.p4d.24xlarge"),
            argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--verbose"), argv.end());
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "smddprun"), argv.end());  // not installed
}

TEST(MpiPlan, DaemonComesFromSmrunMpiSshd) {
  JobSpec spec = mpi_job("algo-2");
  spec.env["SMRUN_MPI_SSHD"] = R"(["/opt/ssh/sbin/sshd", "-D", "-f", "/etc/x y.conf"])";
  auto plan = Job(spec).plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  ASSERT_EQ(plan->processes.size(), 1u);
  EXPECT_EQ(plan->processes[0].argv, (Argv{"/opt/ssh/sbin/sshd", "-D", "-f", "/etc/x y.conf"}));
  EXPECT_EQ(plan->processes[0].label, "algo-2:sshd");

  spec.env["SMRUN_MPI_SSHD"] = "[]";  // the image runs its own remote agent
  plan = Job(spec).plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_TRUE(plan->processes.empty());

  spec.env["SMRUN_MPI_SSHD"] = "/usr/sbin/sshd -D";
  plan = Job(spec).plan();
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().kind, base::ErrorKind::kConfig);
  EXPECT_EQ(plan.error().message,
            "environment variable SMRUN_MPI_SSHD='/usr/sbin/sshd -D': expected a JSON array of "
            "non-empty strings, or [] (invalid JSON: Expecting value: line 1 column 1 (char 0))");
}

TEST(MpiPlan, SingleHostRunsNoDaemon) {
  JobSpec spec = mpi_job("algo-1");
  spec.resource = resource_json({"algo-1"}, "algo-1", "ml.p4d.24xlarge", "eth0");
  auto plan = Job(spec).plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  ASSERT_EQ(plan->processes.size(), 1u);
  EXPECT_EQ(plan->processes[0].label, "algo-1:mpirun");
}

TEST(MpiPlan, BadCustomOptionsNameTheHyperparameter) {
  JobSpec spec = mpi_job("algo-1");
  spec.hyperparameters = {{"sagemaker_mpi_enabled", "true"},
                          {"sagemaker_mpi_custom_mpi_options", "\"--NCCL_DEBUG\""}};
  auto plan = Job(spec).plan();
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().message,
            "hyperparameter sagemaker_mpi_custom_mpi_options: --NCCL_DEBUG expects a value");
}

}  // namespace
}  // namespace smrun::launch
