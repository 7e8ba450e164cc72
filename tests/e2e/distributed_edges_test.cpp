// Edge cases of multi-host jobs, with the same simulated cluster as distributed_torch_test.cpp:
// every host is its own smrun with its own /opt/ml tree, hosts are loopback addresses
// 127.0.0.2, 127.0.0.3, ... (SMRUN_HOST_ADDRESSES), ranks run Debian's PyTorch over gloo.
// Covered here: the torchrun launcher across hosts. Faults (a host that never joins, SIGTERM
// to one host, lost hosts) are rows of the fault matrix: fault_cluster_test.cpp.

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <iostream>
#include <random>

#include "e2e/job_fixture.hpp"
#include "e2e/simulated_cluster.hpp"

namespace smrun::test::e2e {
namespace {

using Clock = std::chrono::steady_clock;

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size()))
    ++n;
  return n;
}

class DistributedEdges : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch_with_gloo()) GTEST_SKIP() << "Debian python3-torch (with gloo) is not installed";
  }
};

TEST_F(DistributedEdges, TorchrunLauncher) {
  SimulatedCluster cluster(
      2, {{"epochs", 5}, {"sagemaker_program", "train.py"}, {"smrun_launcher", "torchrun"}},
      "train.py", read_file(source_dir() / "examples/pytorch-ddp/train.py"));
  const auto t0 = Clock::now();
  auto results = cluster.run_all(
      {{"SMRUN_NPROC_PER_NODE", "2"},
       {"SMRUN_TORCHRUN",
        R"(["/usr/bin/python3","-m","torch.distributed.run","--redirects","2","--tee","1"])"}});
  std::cout << "[ info ] torchrun job took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count()
            << " ms\n";
  std::string all_out;
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].exit_code, 0) << "host " << i + 1 << " stderr:\n" << results[i].err;
    all_out += results[i].out;
  }
  // torchrun prefixes rank lines itself; each of the 4 ranks saw 1+2+3+4.
  EXPECT_EQ(count_of(all_out, "allreduce=10.0"), 4u) << all_out;
  for (int rank = 0; rank < 4; ++rank) {
    const std::string line = "rank=" + std::to_string(rank) +
                             " world=4 host=" + (rank < 2 ? "algo-1" : "algo-2") +
                             " allreduce=10.0";
    EXPECT_NE(all_out.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << all_out;
  }
  EXPECT_TRUE(fs::exists(cluster.hosts[0]->model_dir() / "model.pt"));
  EXPECT_TRUE(fs::exists(cluster.hosts[0]->success_file()));
  EXPECT_TRUE(fs::exists(cluster.hosts[1]->success_file()));
}

}  // namespace
}  // namespace smrun::test::e2e
