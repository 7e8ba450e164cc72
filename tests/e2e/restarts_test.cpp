// Gang restarts (SMRUN_MAX_RESTARTS / smrun_max_restarts) through `smrun train`: a process that
// fails only on its first attempt ends in success with every rank started again and
// TORCHELASTIC_RESTART_COUNT counting up, on one host and on several; when every attempt fails,
// the failure file names the last root cause first and lists the earlier ones.

#include <gtest/gtest.h>

#include "e2e/job_fixture.hpp"
#include "e2e/simulated_cluster.hpp"

namespace smrun::test::e2e {
namespace {

// Each rank appends "<rank> <restart count> <max restarts>" to $E2E_SCRATCH/attempts (a line is
// one write, shorter than PIPE_BUF: no interleaving); rank $FAIL_RANK fails while the restart
// count is below $FAIL_UNTIL, once every rank of the attempt has written its line (bounded
// wait), so a slow rank is not stopped before it ran.
constexpr const char* kRanks = R"SH(#!/bin/sh
c=$TORCHELASTIC_RESTART_COUNT
echo "$RANK $c $TORCHELASTIC_MAX_RESTARTS" >> "$E2E_SCRATCH/attempts"
: > "$E2E_SCRATCH/ran-$c-$RANK"
if [ "$RANK" = "$FAIL_RANK" ] && [ "$c" -lt "$FAIL_UNTIL" ]; then
  n=0
  while [ "$(ls "$E2E_SCRATCH" | grep -c "^ran-$c-")" -lt "$WORLD_SIZE" ]; do
    n=$((n + 1)); [ $n -gt 3000 ] && exit 9
    sleep 0.01
  done
  echo "RuntimeError: attempt $c broke" >&2
  exit 3
fi
exit 0
)SH";

std::vector<std::string> sorted_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = text.find('\n', pos);
    lines.push_back(text.substr(pos, end - pos));
    pos = end == std::string::npos ? text.size() : end + 1;
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

TEST(Restarts, ARankThatFailsOnceIsRestartedWithTheWholeGang) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "ranks.sh"}});
  job.write_code_file("ranks.sh", kRanks, /*executable=*/true);
  ProcessResult r = job.run_train({{"SMRUN_LAUNCHER", "native"},
                                   {"SMRUN_NPROC_PER_NODE", "2"},
                                   {"SMRUN_MAX_RESTARTS", "2"},
                                   {"FAIL_RANK", "1"},
                                   {"FAIL_UNTIL", "1"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Attempt 0: both ranks ran (rank 0 may have ended before rank 1 failed); attempt 1: both again.
  EXPECT_EQ(sorted_lines(read_file(job.scratch() / "attempts")),
            (std::vector<std::string>{"0 0 2", "0 1 2", "1 0 2", "1 1 2"}));
  EXPECT_NE(r.err.find("attempt 1 failed: algo-1 rank 1: exit code 3: RuntimeError: attempt 0 "
                       "broke; starting every process again (restart 1, 1 left)\n"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(fs::exists(job.success_file()));
  EXPECT_FALSE(fs::exists(job.failure_file()));
}

TEST(Restarts, WhenEveryAttemptFailsTheFailureFileListsTheEarlierOnes) {
  JobDir job;
  // The hyperparameter wins over the variable.
  job.write_sdk_hyperparameters({{"sagemaker_program", "ranks.sh"}, {"smrun_max_restarts", 2}});
  job.write_code_file("ranks.sh", kRanks, /*executable=*/true);
  ProcessResult r = job.run_train({{"SMRUN_LAUNCHER", "native"},
                                   {"SMRUN_NPROC_PER_NODE", "2"},
                                   {"SMRUN_MAX_RESTARTS", "0"},
                                   {"FAIL_RANK", "0"},
                                   {"FAIL_UNTIL", "99"}});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  const std::string failure = read_file(job.failure_file());
  EXPECT_EQ(first_line(failure),
            "ExecuteUserScriptError: ranks.sh exited with code 3 on algo-1 (rank 0)");
  EXPECT_NE(failure.find("RuntimeError: attempt 2 broke"), std::string::npos) << failure;
  EXPECT_NE(
      failure.find("\nThe gang was restarted 2 time(s) (SMRUN_MAX_RESTARTS); earlier "
                   "attempts failed with:\n"
                   "  attempt 1: algo-1 rank 0: exit code 3: RuntimeError: attempt 0 broke\n"
                   "  attempt 2: algo-1 rank 0: exit code 3: RuntimeError: attempt 1 broke\n"),
      std::string::npos)
      << failure;
  // Three attempts of rank 0, nothing more.
  std::size_t rank0 = 0;
  for (const auto& line : sorted_lines(read_file(job.scratch() / "attempts")))
    if (line.starts_with("0 ")) ++rank0;
  EXPECT_EQ(rank0, 3u);
}

TEST(Restarts, AProgramThatCannotStartIsNotRestarted) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "ranks.sh"}});
  job.write_code_file("ranks.sh", "#!/nonexistent/interpreter\n", /*executable=*/true);
  ProcessResult r = job.run_train(
      {{"SMRUN_LAUNCHER", "native"}, {"SMRUN_NPROC_PER_NODE", "2"}, {"SMRUN_MAX_RESTARTS", "3"}});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.err.find("starting every process again"), std::string::npos) << r.err;
}

TEST(Restarts, ABadHyperparameterIsAConfigError) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "ranks.sh"}, {"smrun_max_restarts", "two"}});
  job.write_code_file("ranks.sh", kRanks, /*executable=*/true);
  ProcessResult r = job.run_train({{"SMRUN_LAUNCHER", "native"}, {"SMRUN_NPROC_PER_NODE", "2"}});
  EXPECT_EQ(r.exit_code, 65) << r.err;
  EXPECT_NE(
      read_file(job.failure_file())
          .find("hyperparameter smrun_max_restarts='two': expected an integer from 0 to 1000"),
      std::string::npos)
      << read_file(job.failure_file());
  EXPECT_FALSE(fs::exists(job.scratch() / "attempts"));
}

// Two hosts x two ranks of real PyTorch over gloo: rank 3 (on algo-2) fails after the first
// all-reduce of attempt 0 while the others wait; the master restarts every host, the process group
// forms again on the same MASTER_PORT, and the job succeeds with restart count 1 on every rank.
constexpr const char* kGlooRanks = R"PY(import os, pathlib, sys, time
import torch
import torch.distributed as dist
dist.init_process_group("gloo")
rank, restart = dist.get_rank(), int(os.environ["TORCHELASTIC_RESTART_COUNT"])
t = torch.tensor([float(rank + 1)])
dist.all_reduce(t)
with open(pathlib.Path(os.environ["E2E_SCRATCH"]) / "attempts", "a") as f:
    f.write("%d %d %.1f\n" % (rank, restart, t.item()))
if restart == 0:
    if rank == 3:
        sys.exit(3)
    # No collective that could fail on its own before smrun stops this rank: rank 3 must stay
    # the root cause.
    time.sleep(120)
dist.barrier()
dist.destroy_process_group()
)PY";

class GlooRestarts : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch_with_gloo()) GTEST_SKIP() << "Debian python3-torch (with gloo) is not installed";
  }
};

TEST_F(GlooRestarts, TheMasterRestartsEveryHostAndTheProcessGroupFormsAgain) {
  SimulatedCluster cluster(2, {{"sagemaker_program", "ranks.py"}}, "ranks.py", kGlooRanks);
  auto results = cluster.run_all({{"SMRUN_LAUNCHER", "native"},
                                  {"SMRUN_NPROC_PER_NODE", "2"},
                                  {"SMRUN_PYTHON", "/usr/bin/python3"},
                                  {"SMRUN_MAX_RESTARTS", "1"}});
  for (std::size_t i = 0; i < results.size(); ++i)
    ASSERT_EQ(results[i].exit_code, 0) << "host " << i + 1 << ":\n" << results[i].err;
  // Attempt 1 ran every rank with restart count 1, and its all-reduce summed 1+2+3+4 again.
  const auto host1 = sorted_lines(read_file(cluster.hosts[0]->scratch() / "attempts"));
  const auto host2 = sorted_lines(read_file(cluster.hosts[1]->scratch() / "attempts"));
  EXPECT_NE(std::find(host1.begin(), host1.end(), "0 1 10.0"), host1.end()) << host1.size();
  EXPECT_NE(std::find(host1.begin(), host1.end(), "1 1 10.0"), host1.end()) << host1.size();
  EXPECT_NE(std::find(host2.begin(), host2.end(), "2 1 10.0"), host2.end()) << host2.size();
  EXPECT_NE(std::find(host2.begin(), host2.end(), "3 0 10.0"), host2.end()) << host2.size();
  EXPECT_NE(std::find(host2.begin(), host2.end(), "3 1 10.0"), host2.end()) << host2.size();
  EXPECT_NE(results[0].err.find("cluster: attempt 1 failed: algo-2 rank 3: exit code 3"),
            std::string::npos)
      << results[0].err;
  EXPECT_NE(results[1].err.find("cluster: master algo-1 restarts the gang (restart 1) after: "
                                "algo-2 rank 3: exit code 3"),
            std::string::npos)
      << results[1].err;
  EXPECT_TRUE(fs::exists(cluster.hosts[0]->success_file()));
  EXPECT_TRUE(fs::exists(cluster.hosts[1]->success_file()));
}

}  // namespace
}  // namespace smrun::test::e2e
