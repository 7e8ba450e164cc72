// Several simulated hosts on this machine, each its own smrun with its own /opt/ml tree and
// resourceconfig.json, running real PyTorch (Debian's python3-torch, gloo on CPU). Hosts get
// loopback addresses 127.0.0.2, 127.0.0.3, ... through SMRUN_HOST_ADDRESSES, so every packet
// stays on this machine.

#include <gtest/gtest.h>

#include <future>
#include <random>

#include "e2e/job_fixture.hpp"
#include "e2e/simulated_cluster.hpp"

namespace smrun::test::e2e {
namespace {

std::string ddp_script() {
  return read_file(source_dir() / "examples/pytorch-ddp/train.py");
}

class DistributedTorch : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch_with_gloo()) GTEST_SKIP() << "Debian python3-torch (with gloo) is not installed";
  }
};

TEST_F(DistributedTorch, NativeTwoHostsTimesTwoRanksAllReduce) {
  SimulatedCluster cluster(2,
                           {{"epochs", 5},
                            {"sagemaker_program", "train.py"},
                            {"sagemaker_torch_distributed_enabled", true}},
                           "train.py", ddp_script());
  auto results = cluster.run_all({{"SMRUN_NPROC_PER_NODE", "2"}});
  std::string all_out;
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].exit_code, 0) << "host " << i + 1 << " stderr:\n" << results[i].err;
    all_out += results[i].out;
  }
  // Every rank saw 1+2+3+4 = 10, and its lines carry the host:rank prefix.
  for (int rank = 0; rank < 4; ++rank) {
    const std::string line = allreduce_line(rank < 2 ? "algo-1" : "algo-2", rank);
    EXPECT_NE(all_out.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << all_out;
  }
  EXPECT_TRUE(fs::exists(cluster.hosts[0]->model_dir() / "model.pt"));
  EXPECT_TRUE(fs::exists(cluster.hosts[0]->success_file()));
  EXPECT_TRUE(fs::exists(cluster.hosts[1]->success_file()));
}

TEST_F(DistributedTorch, OneRankFailingTearsDownEveryHostWithTheRootCause) {
  SimulatedCluster cluster(2,
                           {{"epochs", 1000000},
                            {"fail-rank", 3},
                            {"fail-code", 3},
                            {"sagemaker_program", "train.py"},
                            {"sagemaker_torch_distributed_enabled", true}},
                           "train.py", ddp_script());
  auto t0 = std::chrono::steady_clock::now();
  auto results = cluster.run_all({{"SMRUN_NPROC_PER_NODE", "2"}});
  auto elapsed = std::chrono::steady_clock::now() - t0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].exit_code, 3) << "host " << i + 1 << " stderr:\n" << results[i].err;
    EXPECT_FALSE(results[i].timed_out);
  }
  // Without fail-fast the other ranks would sit in gloo's 30-minute collective timeout.
  EXPECT_LT(elapsed, 120s);
  for (auto& host : cluster.hosts) {
    ASSERT_TRUE(fs::exists(host->failure_file()));
    const std::string failure = read_file(host->failure_file());
    EXPECT_EQ(
        failure.rfind("ExecuteUserScriptError: train.py exited with code 3 on algo-2 (rank 3)", 0),
        0u)
        << failure;
  }
  // The failing rank's own host adds what only it knows: the rank's last stderr lines and the
  // command; the other host names the root cause alone.
  const std::string own = read_file(cluster.hosts[1]->failure_file());
  EXPECT_NE(own.find("rank 3 failing on purpose with exit code 3\n"), std::string::npos) << own;
  EXPECT_NE(own.find(" -u train.py --epochs 1000000 --fail-code 3 --fail-rank 3\n"),
            std::string::npos)
      << own;
  const std::string other = read_file(cluster.hosts[0]->failure_file());
  EXPECT_EQ(other.find("Last lines of stderr"), std::string::npos) << other;
  EXPECT_EQ(other.find("Command:"), std::string::npos) << other;
}

}  // namespace
}  // namespace smrun::test::e2e
