// Fault matrix, multi-host rows (docs/reliability.md): 2 simulated hosts x 2 ranks, each host
// its own `smrun train` on its own 127.0.0.x. Ranks are plain Python (no torch, so a row takes
// seconds): they record their pid, then block until the test injects the fault. Every row
// asserts both hosts' verdicts, the teardown time, and that no rank survived.

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <future>

#include "e2e/fault_matrix.hpp"
#include "e2e/simulated_cluster.hpp"

namespace smrun::test::e2e {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kStartTimeout = 60s;

class FaultCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster = std::make_unique<SimulatedCluster>(
        2,
        nlohmann::ordered_json{{"sagemaker_program", "rank.py"},
                               {"sagemaker_torch_distributed_enabled", true}},
        "rank.py", kBlockingRankScript, "e2e-faults");
    cluster->shared["SMRUN_NPROC_PER_NODE"] = "2";
    cluster->shared["SMRUN_TERM_GRACE_SECONDS"] = "2";
    cluster->shared["SMRUN_HEARTBEAT_TIMEOUT_SECONDS"] = "2";
  }

  void start_all(const Env& extra = {}) {
    for (std::size_t i = 0; i < cluster->hosts.size(); ++i)
      smruns.push_back(cluster->start(i, extra));
    for (std::size_t i = 0; i < cluster->hosts.size(); ++i)
      ASSERT_TRUE(wait_for_pid_files(scratch(i), 2, kStartTimeout))
          << "ranks of algo-" << i + 1 << " never started:\n"
          << stderr_of(i);
    for (std::size_t i = 0; i < cluster->hosts.size(); ++i) {
      auto pids = recorded_pids(scratch(i));
      ranks.insert(ranks.end(), pids.begin(), pids.end());
    }
  }

  // Waits for every smrun (one shared budget), then checks the row: verdicts, teardown time
  // measured from `injected`, and that no rank survived (allowing `kernel_kill` for ranks of a
  // SIGKILLed smrun, which PR_SET_PDEATHSIG kills asynchronously).
  std::chrono::milliseconds finish(const FaultRow& row, Clock::time_point injected,
                                   std::chrono::milliseconds kernel_kill = 0ms) {
    const auto deadline = injected + row.bound + 20s;  // past the bound: report, do not hang
    std::vector<ObservedHost> observed;
    std::vector<std::string> errs;
    Clock::time_point last_exit = injected;
    for (std::size_t i = 0; i < smruns.size(); ++i) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      auto r = smruns[i]->wait_for(std::max(left, 0ms));
      if (!r) {
        ADD_FAILURE() << row.id << ": algo-" << i + 1 << "'s smrun still running\n" << stderr_of(i);
        return std::chrono::milliseconds::max();
      }
      last_exit = std::max(last_exit, Clock::now());
      observed.push_back(observe(*r, *cluster->hosts[i]));
      errs.push_back(r->err);
    }
    const auto teardown =
        std::chrono::duration_cast<std::chrono::milliseconds>(last_exit - injected);
    expect_verdicts(row, observed, errs);
    expect_teardown_within_bound(row, teardown);
    expect_all_gone(ranks, row.id, kernel_kill);
    return teardown;
  }

  fs::path scratch(std::size_t host) const { return cluster->hosts[host]->scratch(); }
  std::string stderr_of(std::size_t host) const {
    const fs::path p = scratch(host) / "smrun.err";
    return fs::exists(p) ? read_file(p) : "";
  }

  std::unique_ptr<SimulatedCluster> cluster;
  std::vector<std::unique_ptr<BackgroundProcess>> smruns;
  std::vector<pid_t> ranks;
};

TEST_F(FaultCluster, RankExitsNonZero) {
  const FaultRow row = fault_row("rank-exits-nonzero");
  start_all({{"E2E_FAULT_RANK", "3"}});
  const auto injected = Clock::now();
  write_file(scratch(1) / "trigger", "");
  finish(row, injected);
}

TEST_F(FaultCluster, RankSigkilled) {
  const FaultRow row = fault_row("rank-sigkilled");
  start_all();
  const pid_t victim = std::stoi(read_file(scratch(1) / "pid-rank3"));
  const auto injected = Clock::now();
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  finish(row, injected);
}

TEST_F(FaultCluster, RankIgnoresSigterm) {
  const FaultRow row = fault_row("rank-ignores-sigterm");
  start_all({{"E2E_FAULT_RANK", "3"}, {"E2E_IGNORE_TERM_RANK", "0"}});
  const auto injected = Clock::now();
  write_file(scratch(1) / "trigger", "");
  // The hung rank was given the whole grace period (2 s) before SIGKILL.
  EXPECT_GE(finish(row, injected), 2s);
}

TEST_F(FaultCluster, SigtermToOneHost) {
  const FaultRow row = fault_row("sigterm-one-host");
  start_all();
  const auto injected = Clock::now();
  ASSERT_EQ(::kill(smruns[1]->pid(), SIGTERM), 0);
  finish(row, injected);
}

TEST_F(FaultCluster, WorkerHostLost) {
  const FaultRow row = fault_row("worker-host-lost");
  start_all();
  const auto injected = Clock::now();
  ASSERT_EQ(::kill(smruns[1]->pid(), SIGKILL), 0);
  finish(row, injected, 2s);
}

TEST_F(FaultCluster, MasterHostLost) {
  const FaultRow row = fault_row("master-host-lost");
  start_all();
  const auto injected = Clock::now();
  ASSERT_EQ(::kill(smruns[0]->pid(), SIGKILL), 0);
  finish(row, injected, 2s);
}

TEST_F(FaultCluster, MasterFrozen) {
  // SIGSTOP: the master's TCP connections stay open but it says nothing (a hung host or a
  // network partition). Only the heartbeat timeout can notice; then the master is resumed.
  const FaultRow row = fault_row("master-frozen");
  start_all();
  const auto injected = Clock::now();
  ASSERT_EQ(::kill(smruns[0]->pid(), SIGSTOP), 0);
  auto worker = smruns[1]->wait_for(row.bound + 20s);
  ::kill(smruns[0]->pid(), SIGCONT);
  ASSERT_TRUE(worker.has_value()) << "algo-2 never noticed that the master froze\n" << stderr_of(1);
  const auto worker_exit = Clock::now();
  auto master = smruns[0]->wait_for(row.bound + 20s);
  ASSERT_TRUE(master.has_value()) << "algo-1 still running after SIGCONT\n" << stderr_of(0);
  expect_verdicts(row, {observe(*master, *cluster->hosts[0]), observe(*worker, *cluster->hosts[1])},
                  {master->err, worker->err});
  // The bound is on detection: the master's own exit depends on when the test resumes it.
  expect_teardown_within_bound(
      row, std::chrono::duration_cast<std::chrono::milliseconds>(worker_exit - injected));
  expect_all_gone(ranks, row.id);
}

TEST_F(FaultCluster, HostNeverArrives) {
  const FaultRow row = fault_row("host-never-arrives");
  const auto started = Clock::now();
  smruns.push_back(cluster->start(0, {{"SMRUN_HOST_WAIT_SECONDS", "2"}}));
  auto r = smruns[0]->wait_for(row.bound + 20s);
  ASSERT_TRUE(r.has_value()) << "algo-1 still waiting for algo-2\n" << stderr_of(0);
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  expect_verdicts(row, {observe(*r, *cluster->hosts[0])}, {r->err});
  EXPECT_NE(r->err.find("algo-2"), std::string::npos) << r->err;
  EXPECT_GE(elapsed, 2s) << "gave up before SMRUN_HOST_WAIT_SECONDS";
  expect_teardown_within_bound(row, elapsed);
  EXPECT_FALSE(fs::exists(cluster->hosts[0]->success_file()));
  EXPECT_TRUE(recorded_pids(scratch(0)).empty()) << "ranks started without the whole gang";
}

}  // namespace
}  // namespace smrun::test::e2e
