// Four simulated hosts (127.0.0.2 .. 127.0.0.5), each its own `smrun train`: a real PyTorch gloo
// job across all of them, and fail-fast when one rank on a non-master, non-last host fails.

#include <gtest/gtest.h>

#include <algorithm>

#include "e2e/fault_matrix.hpp"
#include "e2e/simulated_cluster.hpp"

namespace smrun::test::e2e {
namespace {

using Clock = std::chrono::steady_clock;

TEST(FourHosts, TorchGlooAllReduceAcrossFourHosts) {
  if (!torch_with_gloo()) GTEST_SKIP() << "Debian python3-torch (with gloo) is not installed";
  SimulatedCluster cluster(4,
                           {{"epochs", 2},
                            {"sagemaker_program", "train.py"},
                            {"sagemaker_torch_distributed_enabled", true}},
                           "train.py", read_file(source_dir() / "examples/pytorch-ddp/train.py"),
                           "e2e-four-hosts");
  auto results = cluster.run_all({{"SMRUN_NPROC_PER_NODE", "1"}});
  for (std::size_t i = 0; i < results.size(); ++i) {
    SCOPED_TRACE("algo-" + std::to_string(i + 1));
    EXPECT_EQ(results[i].exit_code, 0) << results[i].err;
    EXPECT_FALSE(results[i].timed_out);
    EXPECT_TRUE(fs::exists(cluster.hosts[i]->success_file()));
    // Host i runs global rank i, and its line says every rank summed 1+2+3+4.
    const std::string line = allreduce_line("algo-" + std::to_string(i + 1), static_cast<int>(i));
    EXPECT_NE(results[i].out.find(line), std::string::npos) << "missing: " << line << "in:\n"
                                                            << results[i].out;
  }
  EXPECT_TRUE(fs::exists(cluster.hosts[0]->model_dir() / "model.pt"));
}

TEST(FourHosts, RankFailureOnThirdHostStopsAllFour) {
  SimulatedCluster cluster(
      4, {{"sagemaker_program", "rank.py"}, {"sagemaker_torch_distributed_enabled", true}},
      "rank.py", kBlockingRankScript, "e2e-four-hosts-fault");
  const Env extra{{"SMRUN_NPROC_PER_NODE", "2"},
                  {"SMRUN_TERM_GRACE_SECONDS", "2"},
                  {"SMRUN_HEARTBEAT_TIMEOUT_SECONDS", "2"},
                  {"E2E_FAULT_RANK", "5"}};
  std::vector<std::unique_ptr<BackgroundProcess>> smruns;
  for (std::size_t i = 0; i < 4; ++i) smruns.push_back(cluster.start(i, extra));
  std::vector<pid_t> ranks;
  for (std::size_t i = 0; i < 4; ++i) {
    const fs::path scratch = cluster.hosts[i]->scratch();
    ASSERT_TRUE(wait_for_pid_files(scratch, 2, 60s))
        << "ranks of algo-" << i + 1 << " never started:\n"
        << (fs::exists(scratch / "smrun.err") ? read_file(scratch / "smrun.err") : "");
    auto pids = recorded_pids(scratch);
    EXPECT_EQ(pids.size(), 2u) << "algo-" << i + 1;
    ranks.insert(ranks.end(), pids.begin(), pids.end());
  }
  // Global ranks 4 and 5 live on algo-3.
  ASSERT_TRUE(fs::exists(cluster.hosts[2]->scratch() / "pid-rank5"));

  const auto injected = Clock::now();
  write_file(cluster.hosts[2]->scratch() / "trigger", "");
  const auto deadline = injected + 30s;  // far past the bound: report, never hang
  for (std::size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE("algo-" + std::to_string(i + 1));
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto r = smruns[i]->wait_for(std::max(left, 0ms));
    ASSERT_TRUE(r.has_value()) << "smrun still running";
    const ObservedHost seen = observe(*r, *cluster.hosts[i]);
    EXPECT_EQ(seen.term_signal, 0);
    EXPECT_EQ(seen.exit_code, 3) << r->err;
    EXPECT_EQ(seen.failure,
              std::optional<std::string>(
                  "ExecuteUserScriptError: rank.py exited with code 3 on algo-3 (rank 5)"))
        << r->err;
  }
  // Same bound as the two-host fault matrix row rank-exits-nonzero.
  EXPECT_LT(Clock::now() - injected, 10s);
  expect_all_gone(ranks, "four hosts, rank 5 exits 3");
}

}  // namespace
}  // namespace smrun::test::e2e
