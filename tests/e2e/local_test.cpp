// `smrun local` end to end: several hosts on this machine, each a real `smrun train` on its own
// loopback address and /opt/ml tree, with real ranks (Debian's PyTorch over gloo for the DDP
// example), signals and archives.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <random>

#include "e2e/job_fixture.hpp"
#include "e2e/simulated_cluster.hpp"

namespace smrun::test::e2e {
namespace {

// A unique word in every rank's argv (through a hyperparameter), to find leftover processes.
std::string marker() {
  std::random_device rd;
  return "local-e2e-" + std::to_string(rd()) + std::to_string(rd());
}

Env local_env(const fs::path& home, Env extra = {}) {
  Env env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"HOME", home.string()},
             {"SMRUN_PYTHON", "/usr/bin/python3"},     {"SMRUN_TERM_GRACE_SECONDS", "5"},
             {"SMRUN_HOST_WAIT_SECONDS", "60"},        {"AWS_EC2_METADATA_DISABLED", "true"}};
  for (const auto& [k, v] : extra) env[k] = v;
  return env;
}

std::vector<std::string> local_argv(std::vector<std::string> args) {
  args.insert(args.begin(), {smrun_binary().string(), "local"});
  return args;
}

bool contains(const std::vector<std::string>& v, const std::string& item) {
  return std::find(v.begin(), v.end(), item) != v.end();
}

// Each rank says who it is and what it got, writes a model file named after its host, and
// waits until every rank of the job has started (a file each) before ending, so the test knows
// all hosts ran at once. Rank $FAIL_RANK then exits 7 instead; the others block until stopped.
constexpr const char* kRanks = R"SH(#!/bin/sh
echo "rank $RANK of $WORLD_SIZE on $SM_CURRENT_HOST: $* data=$(cat "$SM_CHANNEL_TRAIN/a.csv") flag=$MY_FLAG master=$MASTER_ADDR"
echo "$SM_CURRENT_HOST:$RANK" > "$SM_MODEL_DIR/$SM_CURRENT_HOST.txt"
: > "$SCRATCH/started-$RANK"
n=0
while [ "$(ls "$SCRATCH" | grep -c started-)" -lt "$WORLD_SIZE" ]; do
  n=$((n + 1)); [ $n -gt 3000 ] && exit 9
  sleep 0.01
done
if [ -n "$FAIL_RANK" ]; then
  if [ "$RANK" = "$FAIL_RANK" ]; then echo "rank $RANK gives up" >&2; exit 7; fi
  while :; do sleep 0.5; done  # blocks until stopped; the shell keeps the marker in its argv
fi
exit 0
)SH";

struct LocalJobFiles {
  TempDir dir;
  fs::path source = dir / "src";
  fs::path data = dir / "data";
  fs::path scratch = dir / "scratch";
  fs::path output = dir / "out";
  std::string mark = marker();
  LocalJobFiles() {
    write_file(source / "ranks.sh", kRanks, /*executable=*/true);
    write_file(data / "a.csv", "1,2");
    fs::create_directories(scratch);
  }
  std::vector<std::string> args(std::vector<std::string> extra = {}) const {
    std::vector<std::string> a = {"--hosts",      "2",
                                  "--program",    "ranks.sh",
                                  "--source-dir", source.string(),
                                  "--channel",    "train=" + data.string(),
                                  "--hp",         "marker=" + mark,
                                  "--output",     output.string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return local_argv(a);
  }
};

TEST(LocalRun, TwoHostsRunAtOnceEachLineIsPrefixedAndTheModelsAreMerged) {
  LocalJobFiles f;
  ProcessResult r = run_process(
      {.argv = f.args({"--nproc-per-node", "2", "--hp", "epochs=3", "--hp", "name=res net"}),
       .env = local_env(f.dir.path(), {{"SCRATCH", f.scratch.string()},
                                       {"MY_FLAG", "on"},
                                       {"SMRUN_METRIC_INTERVAL_SECONDS", "0"},
                                       {"SMRUN_METRIC_DEFINITIONS",
                                        R"([{"Name": "world", "Regex": "of ([0-9]+) on"}])"}}),
       .timeout = 120s});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Rank lines keep the [host:rank] prefix their host gave them; ranks get the master's IP.
  std::string master;
  for (int rank = 0; rank < 4; ++rank) {
    const std::string host = rank < 2 ? "algo-1" : "algo-2";
    const std::string prefix =
        "[" + host + ":" + std::to_string(rank) + "] rank " + std::to_string(rank) + " of 4 on " +
        host + ": --epochs 3 --marker " + f.mark + " --name res net data=1,2 flag=on master=127.";
    ASSERT_NE(r.out.find(prefix), std::string::npos) << prefix << "\n" << r.out;
  }
  // The hosts' own log lines carry the host.
  EXPECT_NE(r.err.find("[algo-2] "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[algo-1] "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cluster: job verdict: success on all 2 hosts"), std::string::npos);
  EXPECT_NE(
      r.err.find("smrun local: model: " + (f.output / "model.tar.gz").string() + " (2 entries)"),
      std::string::npos)
      << r.err;
  // Every line of output is whole: a prefix at the start of each.
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) EXPECT_EQ(line.rfind("[algo-", 0), 0u) << line;

  EXPECT_EQ(tar_members(f.output / "model.tar.gz"),
            (std::vector<std::string>{"algo-1.txt", "algo-2.txt"}));
  const auto output = tar_members(f.output / "output.tar.gz");
  EXPECT_TRUE(contains(output, "success")) << testing::PrintToString(output);
  EXPECT_FALSE(contains(output, "model.tar.gz"));  // hosts leave the packing to smrun local
  for (const char* host : {"algo-1", "algo-2"}) {
    EXPECT_TRUE(fs::exists(f.output / host / "output" / "success")) << host;
    EXPECT_EQ(fs::read_symlink(f.output / host / "input" / "data" / "train"), f.data);
  }
  EXPECT_EQ(read_file(f.data / "a.csv"), "1,2");
  // Each host records its own ranks' metrics, and the log says where each plot is.
  for (const std::string host : {"algo-1", "algo-2"}) {
    const fs::path data = f.output / host / "output" / "data";
    EXPECT_NE(
        r.err.find("smrun local: metrics plot of " + host + ": " + (data / "metrics.svg").string()),
        std::string::npos)
        << r.err;
    const std::string csv = read_file(data / "metrics.csv");
    const int first = host == "algo-1" ? 0 : 2;
    for (int rank = first; rank < first + 2; ++rank)
      EXPECT_NE(csv.find("," + host + "," + std::to_string(rank) + ",world,4\n"), std::string::npos)
          << csv;
  }
}

TEST(LocalRun, ARankFailureOnTheSecondHostIsTheJobsVerdictOnEveryHost) {
  LocalJobFiles f;
  const auto started = std::chrono::steady_clock::now();
  ProcessResult r = run_process(
      {.argv = f.args({"--nproc-per-node", "2"}),
       .env = local_env(f.dir.path(), {{"SCRATCH", f.scratch.string()}, {"FAIL_RANK", "3"}}),
       .timeout = 120s});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_LT(took, 60s);
  EXPECT_NE(r.err.find("[algo-2:3] rank 3 gives up\n"), std::string::npos) << r.err;
  for (const char* host : {"algo-1", "algo-2"})
    EXPECT_NE(r.err.find(std::string("smrun local: ") + host +
                         " exited with 7: ExecuteUserScriptError: ranks.sh exited with code 7 "
                         "on algo-2 (rank 3)"),
              std::string::npos)
        << host << "\n"
        << r.err;
  EXPECT_NE(r.err.find("FAILED with exit code 7"), std::string::npos);
  EXPECT_TRUE(processes_with_marker(f.mark).empty());
  // The artifacts are collected after a failure too.
  EXPECT_TRUE(contains(tar_members(f.output / "output.tar.gz"), "failure"));
}

TEST(LocalRun, CtrlCStopsEveryHostAndEveryRank) {
  LocalJobFiles f;
  BackgroundProcess local(
      f.args({"--nproc-per-node", "2"}),
      local_env(f.dir.path(), {{"SCRATCH", f.scratch.string()}, {"FAIL_RANK", "none"}}),
      f.dir / "local.out", f.dir / "local.err");
  for (int rank = 0; rank < 4; ++rank)
    ASSERT_TRUE(wait_for_file(f.scratch / ("started-" + std::to_string(rank)), 60s))
        << read_file(f.dir / "local.err");
  ASSERT_EQ(::kill(local.pid(), SIGINT), 0);
  auto r = local.wait_for(60s);
  ASSERT_TRUE(r) << "smrun local did not end after SIGINT";
  const std::string err = read_file(f.dir / "local.err");
  EXPECT_EQ(r->exit_code, 130) << err;
  EXPECT_NE(err.find("forwarding SIGINT to algo-1"), std::string::npos) << err;
  EXPECT_NE(err.find("forwarding SIGINT to algo-2"), std::string::npos) << err;
  EXPECT_NE(err.find("[algo-2] "), std::string::npos);
  EXPECT_TRUE(processes_with_marker(f.mark).empty());
  for (const char* host : {"algo-1", "algo-2"})
    EXPECT_TRUE(fs::exists(f.output / host / "output" / "failure")) << host;
}

TEST(LocalRun, AJobRequestGivesHyperparametersChannelsHostsAndEnvironment) {
  LocalJobFiles f;
  const fs::path request = f.dir / "request.json";
  write_file(request, R"({"TrainingJobName": "req-job",
    "HyperParameters": {"sagemaker_program": "\"ranks.sh\"", "lr": "0.5",
                        "sagemaker_submit_directory": "\"file://)" +
                          f.source.string() + R"(\"", "marker": "\")" + f.mark + R"(\""},
    "InputDataConfig": [{"ChannelName": "train",
                         "DataSource": {"S3DataSource": {"S3Uri": "file://)" +
                          f.data.string() + R"("}}}],
    "ResourceConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.large"},
    "Environment": {"MY_FLAG": "from-request"}})");
  ProcessResult r = run_process(
      {.argv = local_argv(
           {"--job", request.string(), "--output", f.output.string(), "--nproc-per-node", "1"}),
       .env = local_env(f.dir.path(), {{"SCRATCH", f.scratch.string()}, {"MY_FLAG", "from-shell"}}),
       .timeout = 120s});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const std::string host : {"algo-1", "algo-2"}) {
    const std::string rank = host == "algo-1" ? "0" : "1";
    const std::string line = "[" + host + ":" + rank + "] rank " + rank + " of 2 on " + host +
                             ": --lr 0.5 --marker " + f.mark + " data=1,2 flag=from-request";
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
  }
  EXPECT_NE(r.err.find("smrun local: job req-job on 2 hosts"), std::string::npos) << r.err;
  EXPECT_NE(read_file(f.output / "algo-1" / "input" / "config" / "resourceconfig.json")
                .find("\"current_instance_type\": \"ml.m5.large\""),
            std::string::npos);
}

TEST(LocalRun, BadFlagsExitWithUsageAndLeaveTheUsersFilesAlone) {
  LocalJobFiles f;
  write_file(f.output / "keep.txt", "mine");
  ProcessResult r = run_process({.argv = f.args(), .env = local_env(f.dir.path())});
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_NE(r.err.find("smrun local: --output " + f.output.string() +
                       ": exists and is not empty (smrun local never writes over earlier "
                       "results; choose a new dir or remove it)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(read_file(f.output / "keep.txt"), "mine");
  EXPECT_EQ(std::distance(fs::directory_iterator(f.output), fs::directory_iterator()), 1);

  ProcessResult bogus =
      run_process({.argv = local_argv({"--bogus"}), .env = local_env(f.dir.path())});
  EXPECT_EQ(bogus.exit_code, 64);
  EXPECT_EQ(first_line(bogus.err), "smrun: error: Option \u2018bogus\u2019 does not exist");

  ProcessResult missing = run_process(
      {.argv = local_argv({"--program", "nope.py", "--output", (f.dir / "o2").string()}),
       .env = local_env(f.dir.path())});
  EXPECT_EQ(missing.exit_code, 66);
  EXPECT_FALSE(fs::exists(f.dir / "o2"));
}

// The issue's acceptance case: the PyTorch DDP example on 2 hosts x 2 ranks (gloo), run by a
// user who is not root, collects the model rank 0 saved.
TEST(LocalRun, TheDdpExampleOnTwoHostsByTwoRanksRunsAsNonRootAndCollectsTheModel) {
  if (!torch_with_gloo()) GTEST_SKIP() << "Debian's python3-torch with gloo is not installed";
  TempDir dir;
  const fs::path output = dir / "out";
  std::vector<std::string> argv =
      local_argv({"--hosts", "2", "--nproc-per-node", "2", "--program",
                  (source_dir() / "examples" / "pytorch-ddp" / "train.py").string(), "--hp",
                  "epochs=3", "--output", output.string()});
  const bool root = ::geteuid() == 0;
  if (root) {
    // The dir is the user's; smrun runs as nobody, with no capability.
    ASSERT_EQ(::chown(dir.path().c_str(), 65534, 65534), 0);
    argv.insert(argv.begin(), {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                               "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"});
  }
  ProcessResult r = run_process({.argv = argv, .env = local_env(dir.path()), .timeout = 240s});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (int rank = 0; rank < 4; ++rank)
    EXPECT_NE(r.out.find(allreduce_line(rank < 2 ? "algo-1" : "algo-2", rank)), std::string::npos)
        << rank << "\n"
        << r.out;
  EXPECT_NE(r.out.find("[algo-1:0] final loss="), std::string::npos) << r.out;
  EXPECT_EQ(tar_members(output / "model.tar.gz"), std::vector<std::string>{"model.pt"});
  if (root) {
    struct stat st {};
    ASSERT_EQ(::stat((output / "model.tar.gz").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 65534u);  // written by the unprivileged smrun
  }
}

}  // namespace
}  // namespace smrun::test::e2e
