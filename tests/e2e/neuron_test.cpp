// Neuron (Trainium) jobs end to end: how many ranks smrun starts per host and what each rank
// sees. A fake `neuron-ls` on PATH answers `neuron-ls -j` with the JSON array the real tool
// prints (one object per Neuron device, "nc_count" NeuronCores each), so the count goes through
// the same discovery path as on a trn1 instance. Ranks are plain Python that dump their
// environment and exit, so every case takes about a second.

#include <gtest/gtest.h>

#include <future>

#include "e2e/job_fixture.hpp"
#include "e2e/simulated_cluster.hpp"

namespace smrun::test::e2e {
namespace {

// Each rank writes its whole environment to <scratch>/rank-<RANK>.json (temporary name, then
// rename, so a file that exists is complete).
constexpr const char* kEnvDumpScript = R"PY(import json, os, pathlib
scratch = pathlib.Path(os.environ["E2E_SCRATCH"])
rank = os.environ["RANK"]
tmp = scratch / ("rank-%s.tmp" % rank)
tmp.write_text(json.dumps(dict(os.environ)))
tmp.rename(scratch / ("rank-%s.json" % rank))
)PY";

constexpr const char* kJobName = "e2e-neuron";

// What `neuron-ls -j` (long form --json-output) prints on an instance with `devices` Neuron
// devices of `cores_per_device` NeuronCores each.
std::string neuron_ls_json(int devices, int cores_per_device) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (int d = 0; d < devices; ++d) {
    nlohmann::ordered_json connected = nlohmann::ordered_json::array();
    if (devices > 1) connected.push_back((d + 1) % devices);
    list.push_back({{"neuron_device", d},
                    {"bdf", std::to_string(10 + d) + ":1c.0"},
                    {"connected_to", connected},
                    {"nc_count", cores_per_device},
                    {"memory_size", 34359738368LL},
                    {"neuron_processes", nlohmann::ordered_json::array()}});
  }
  return list.dump(4) + "\n";
}

// An executable `neuron-ls` in <dir>/bin. It appends its arguments to <dir>/bin/neuron-ls.calls
// (so the test can check how smrun invoked it) and, like the real tool, prints JSON only when
// asked for it.
fs::path install_fake_neuron_ls(const fs::path& dir, int devices, int cores_per_device) {
  const fs::path bin = dir / "bin";
  fs::create_directories(bin);
  write_file(bin / "neuron-ls",
             "#!/bin/sh\n"
             "printf '%s\\n' \"$*\" >> \"$0.calls\"\n"
             "case \"$1\" in\n"
             "  -j|--json-output) cat <<'EOF'\n" +
                 neuron_ls_json(devices, cores_per_device) +
                 "EOF\n"
                 "    ;;\n"
                 "  *) echo 'fake neuron-ls: only -j/--json-output' >&2; exit 1 ;;\n"
                 "esac\n",
             true);
  return bin;
}

std::string resource_config(const std::string& current, int hosts, const std::string& type) {
  nlohmann::ordered_json names = nlohmann::ordered_json::array();
  for (int i = 1; i <= hosts; ++i) names.push_back("algo-" + std::to_string(i));
  return nlohmann::ordered_json{{"current_host", current},
                                {"hosts", names},
                                {"current_instance_type", type},
                                {"network_interface_name", "lo"}}
      .dump();
}

// The job's environment with neuron discovery left to smrun (no SMRUN_NUM_NEURONS) and `bin`
// (if any) first on PATH.
Env neuron_env(const JobDir& job, const fs::path& bin, Env extra = {}) {
  extra["PATH"] = (bin.empty() ? "" : bin.string() + ":") + "/usr/local/bin:/usr/bin:/bin";
  extra["TRAINING_JOB_NAME"] = kJobName;
  return without(job.environment(extra), {"SMRUN_NUM_NEURONS"});
}

void write_job(const JobDir& job, const std::string& type, bool checkpoints = false) {
  job.write_resource_config(resource_config("algo-1", 1, type));
  job.write_sdk_hyperparameters(
      {{"sagemaker_program", "dump.py"}, {"sagemaker_torch_distributed_enabled", true}});
  job.write_code_file("dump.py", kEnvDumpScript);
  if (checkpoints)
    job.write_checkpoint_config(
        nlohmann::json({{"LocalPath", (job.scratch() / "ckpt").string()}}).dump());
}

nlohmann::json dry_run(const JobDir& job, const Env& env) {
  ProcessResult r = job.run_smrun({"env"}, env, 30s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

// The environments the ranks dumped into `scratch`, by global rank; fails if the set of rank
// files is not exactly first..first+count-1.
std::vector<nlohmann::json> rank_envs(const fs::path& scratch, int first, int count) {
  std::vector<nlohmann::json> envs;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(scratch))
    if (entry.path().filename().string().starts_with("rank-")) ++files;
  EXPECT_EQ(files, count) << "rank files in " << scratch;
  for (int r = first; r < first + count; ++r) {
    const fs::path p = scratch / ("rank-" + std::to_string(r) + ".json");
    if (!fs::exists(p)) {
      ADD_FAILURE() << "rank " << r << " wrote no " << p;
      envs.emplace_back(nlohmann::json::object());
      continue;
    }
    envs.push_back(nlohmann::json::parse(read_file(p)));
  }
  return envs;
}

std::string var(const nlohmann::json& env, const std::string& name) {
  return env.contains(name) ? env.at(name).get<std::string>() : "<unset>";
}

struct Layout {
  int nproc = 0;
  int node_rank = 0;
  int nodes = 1;
  std::string master_addr = "127.0.0.1";
  std::string master_port = "7777";
};

// The torchrun worker contract for every rank of one host.
void expect_rank_contract(const std::vector<nlohmann::json>& envs, const Layout& l) {
  ASSERT_EQ(envs.size(), static_cast<std::size_t>(l.nproc));
  const std::string world = std::to_string(l.nproc * l.nodes);
  for (int local = 0; local < l.nproc; ++local) {
    const auto& e = envs[static_cast<std::size_t>(local)];
    const std::string rank = std::to_string(l.node_rank * l.nproc + local);
    SCOPED_TRACE("rank " + rank);
    EXPECT_EQ(var(e, "RANK"), rank);
    EXPECT_EQ(var(e, "LOCAL_RANK"), std::to_string(local));
    EXPECT_EQ(var(e, "WORLD_SIZE"), world);
    EXPECT_EQ(var(e, "LOCAL_WORLD_SIZE"), std::to_string(l.nproc));
    EXPECT_EQ(var(e, "GROUP_RANK"), std::to_string(l.node_rank));
    EXPECT_EQ(var(e, "GROUP_WORLD_SIZE"), std::to_string(l.nodes));
    EXPECT_EQ(var(e, "ROLE_RANK"), rank);
    EXPECT_EQ(var(e, "ROLE_WORLD_SIZE"), world);
    EXPECT_EQ(var(e, "MASTER_ADDR"), l.master_addr);
    EXPECT_EQ(var(e, "MASTER_PORT"), l.master_port);
    EXPECT_EQ(var(e, "TORCHELASTIC_RUN_ID"), kJobName);
    EXPECT_EQ(var(e, "TORCHELASTIC_RESTART_COUNT"), "0");
    EXPECT_EQ(var(e, "TORCHELASTIC_MAX_RESTARTS"), "0");
    EXPECT_TRUE(var(e, "TORCHELASTIC_ERROR_FILE").ends_with("/rank-" + rank + "/error.json"))
        << var(e, "TORCHELASTIC_ERROR_FILE");
    EXPECT_EQ(var(e, "OMP_NUM_THREADS"), l.nproc > 1 ? "1" : "<unset>");
    EXPECT_EQ(var(e, "NCCL_SOCKET_IFNAME"), "lo");
    EXPECT_EQ(var(e, "NCCL_PROTO"), "simple");
    // Core placement is torch-neuronx's job (it maps LOCAL_RANK to a core), as under torchrun;
    // smrun sets neither variable.
    EXPECT_EQ(var(e, "NEURON_RT_VISIBLE_CORES"), "<unset>");
    EXPECT_EQ(var(e, "NEURON_RT_ROOT_COMM_ID"), "<unset>");
  }
}

// FI_PROVIDER / FI_EFA_USE_DEVICE_RDMA / RDMAV_FORK_SAFE as src/launch/instance_profile.cpp's
// table gives them: all three on the EFA Trainium types, none on trn1.2xlarge.
void expect_efa(const std::vector<nlohmann::json>& envs, bool efa) {
  for (const auto& e : envs) {
    SCOPED_TRACE("rank " + var(e, "RANK"));
    EXPECT_EQ(var(e, "FI_PROVIDER"), efa ? "efa" : "<unset>");
    EXPECT_EQ(var(e, "FI_EFA_USE_DEVICE_RDMA"), efa ? "1" : "<unset>");
    EXPECT_EQ(var(e, "RDMAV_FORK_SAFE"), efa ? "1" : "<unset>");
  }
}

void expect_all(const std::vector<nlohmann::json>& envs, const std::string& name,
                const std::string& value) {
  for (const auto& e : envs)
    EXPECT_EQ(var(e, name), value) << name << " of rank " << var(e, "RANK");
}

// (a) 2 devices x 2 NeuronCores from neuron-ls: 4 ranks, although the instance table says 2 for
// trn1.2xlarge (what the tool reports wins, like the reference).
TEST(Neuron, NeuronLsCoresAreTheRanksPerHost) {
  JobDir job;
  write_job(job, "ml.trn1.2xlarge", /*checkpoints=*/true);
  const fs::path bin = install_fake_neuron_ls(job.scratch(), 2, 2);
  const Env env = neuron_env(job, bin);

  const nlohmann::json shown = dry_run(job, env);
  EXPECT_EQ(shown.at("launcher"), "native");
  EXPECT_EQ(shown.at("env").at("SM_NUM_NEURONS"), "4");
  EXPECT_EQ(nlohmann::json::parse(shown.at("env").at("SM_TRAINING_ENV").get<std::string>())
                .at("num_neurons"),
            4);
  EXPECT_EQ(read_file(bin / "neuron-ls.calls"), "-j\n");

  ProcessResult r = job.run_smrun({"train"}, env, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(job.success_file()));
  EXPECT_EQ(read_file(bin / "neuron-ls.calls"), "-j\n-j\n");
  const auto envs = rank_envs(job.scratch(), 0, 4);
  expect_rank_contract(envs, {.nproc = 4});
  expect_efa(envs, false);
  expect_all(envs, "SM_NUM_NEURONS", "4");
  expect_all(envs, "SM_CHECKPOINT_DIR", (job.scratch() / "ckpt").string());
  expect_all(envs, "NEURON_COMPILE_CACHE_URL",
             (job.scratch() / "ckpt" / "neuron-compile-cache").string());
}

// (a) Two trn1.32xlarge hosts whose neuron-ls reports 4 cores: 2 x 4 ranks, EFA on.
TEST(Neuron, TwoHostsTimesFourNeuronCores) {
  SimulatedCluster cluster(
      2, {{"sagemaker_program", "dump.py"}, {"sagemaker_torch_distributed_enabled", true}},
      "dump.py", kEnvDumpScript, kJobName);
  std::vector<fs::path> bins;
  for (int i = 0; i < 2; ++i) {
    const auto& job = *cluster.hosts[static_cast<std::size_t>(i)];
    job.write_resource_config(
        resource_config("algo-" + std::to_string(i + 1), 2, "ml.trn1.32xlarge"));
    bins.push_back(install_fake_neuron_ls(job.scratch(), 2, 2));
  }
  std::vector<std::future<ProcessResult>> running;
  for (std::size_t i = 0; i < 2; ++i) {
    Env env = without(cluster.env_for(i, {}), {"SMRUN_NUM_NEURONS"});
    env["PATH"] = bins[i].string() + ":" + env["PATH"];
    const JobDir* job = cluster.hosts[i].get();
    running.push_back(
        std::async(std::launch::async, [job, env] { return job->run_smrun({"train"}, env, 90s); }));
  }
  for (std::size_t i = 0; i < 2; ++i) {
    ProcessResult r = running[i].get();
    EXPECT_EQ(r.exit_code, 0) << "algo-" << i + 1 << ":\n" << r.err;
  }
  const std::string port = cluster.shared.at("SMRUN_MASTER_PORT");
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE("algo-" + std::to_string(i + 1));
    const auto envs = rank_envs(cluster.hosts[static_cast<std::size_t>(i)]->scratch(), 4 * i, 4);
    expect_rank_contract(
        envs,
        {.nproc = 4, .node_rank = i, .nodes = 2, .master_addr = "127.0.0.2", .master_port = port});
    expect_efa(envs, true);
    expect_all(envs, "SM_NUM_NEURONS", "4");
    expect_all(envs, "SM_CURRENT_HOST", "algo-" + std::to_string(i + 1));
    // No checkpointconfig.json: no compile cache location to sync.
    expect_all(envs, "NEURON_COMPILE_CACHE_URL", "<unset>");
  }
}

// (b) No neuron-ls: trn1.32xlarge's 32 NeuronCores come from the instance table.
TEST(Neuron, WithoutNeuronLsTheInstanceTableGives32Ranks) {
  JobDir job;
  write_job(job, "ml.trn1.32xlarge");
  const fs::path empty_bin = job.scratch() / "bin";
  fs::create_directories(empty_bin);
  for (const char* dir : {"/usr/local/bin", "/usr/bin", "/bin"})
    if (fs::exists(fs::path(dir) / "neuron-ls")) GTEST_SKIP() << "a real neuron-ls is installed";
  const Env env = neuron_env(job, empty_bin);

  const nlohmann::json shown = dry_run(job, env);
  EXPECT_EQ(shown.at("launcher"), "native");
  EXPECT_EQ(shown.at("env").at("SM_NUM_NEURONS"), "0");  // the reference's value without the tool

  ProcessResult r = job.run_smrun({"train"}, env, 90s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto envs = rank_envs(job.scratch(), 0, 32);
  expect_rank_contract(envs, {.nproc = 32});
  expect_efa(envs, true);
  expect_all(envs, "SM_NUM_NEURONS", "0");
}

// (c) SMRUN_NPROC_PER_NODE beats what neuron-ls reports.
TEST(Neuron, NprocOverrideWinsOverNeuronLs) {
  JobDir job;
  write_job(job, "ml.trn1.2xlarge");
  const fs::path bin = install_fake_neuron_ls(job.scratch(), 2, 2);
  ProcessResult r =
      job.run_smrun({"train"}, neuron_env(job, bin, {{"SMRUN_NPROC_PER_NODE", "3"}}), 60s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto envs = rank_envs(job.scratch(), 0, 3);
  expect_rank_contract(envs, {.nproc = 3});
  expect_all(envs, "SM_NUM_NEURONS", "4");
}

// trn2.48xlarge: 64 NeuronCores without asking neuron-ls (the reference hard-codes it; neuron-ls
// under-reports LNC=2 cores), EFA on; the override keeps the run small.
TEST(Neuron, Trn2HardCodes64CoresAndEfa) {
  JobDir job;
  write_job(job, "ml.trn2.48xlarge");
  const fs::path bin = install_fake_neuron_ls(job.scratch(), 2, 2);
  ProcessResult r =
      job.run_smrun({"train"}, neuron_env(job, bin, {{"SMRUN_NPROC_PER_NODE", "2"}}), 60s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(bin / "neuron-ls.calls")) << "neuron-ls was asked on trn2.48xlarge";
  const auto envs = rank_envs(job.scratch(), 0, 2);
  expect_rank_contract(envs, {.nproc = 2});
  expect_efa(envs, true);
  expect_all(envs, "SM_NUM_NEURONS", "64");
}

// trn1n.32xlarge gets the EFA variables too (the reference's list misses trn1n), but a value the
// user set is never overridden.
TEST(Neuron, Trn1nEfaKeepsTheUsersProvider) {
  JobDir job;
  write_job(job, "ml.trn1n.32xlarge");
  const fs::path bin = install_fake_neuron_ls(job.scratch(), 1, 2);
  ProcessResult r = job.run_smrun(
      {"train"}, neuron_env(job, bin, {{"FI_PROVIDER", "sockets"}, {"NCCL_PROTO", "LL"}}), 60s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto envs = rank_envs(job.scratch(), 0, 2);
  ASSERT_EQ(envs.size(), 2u);
  expect_all(envs, "WORLD_SIZE", "2");
  expect_all(envs, "SM_NUM_NEURONS", "2");
  expect_all(envs, "FI_PROVIDER", "sockets");
  expect_all(envs, "NCCL_PROTO", "LL");
  expect_all(envs, "FI_EFA_USE_DEVICE_RDMA", "1");
  expect_all(envs, "RDMAV_FORK_SAFE", "1");
}

}  // namespace
}  // namespace smrun::test::e2e
