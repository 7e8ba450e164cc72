// Edge cases of multi-host jobs, with the same simulated cluster as distributed_torch_test.cpp:
// every host is its own smrun with its own /opt/ml tree, hosts are loopback addresses
// 127.0.0.2, 127.0.0.3, ... (SMRUN_HOST_ADDRESSES), ranks run Debian's PyTorch over gloo.
// Covered here: a host that never joins, SIGTERM delivered to one host only, and the
// torchrun launcher across hosts.

#include <signal.h>
#include <sys/types.h>

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

// Ranks that join the gang, report readiness with a file in their host's $E2E_SCRATCH, then
// stay inside collectives until someone stops them (the example train.py ends on its own, so
// it cannot hold a job open long enough to signal it). The short sleep only keeps the loop
// from burning both CPUs; the test never sleeps.
constexpr const char* kBlockingRanks = R"PY(import os
import pathlib
import time

import torch
import torch.distributed as dist

dist.init_process_group("gloo")
rank = dist.get_rank()
t = torch.ones(1)
dist.all_reduce(t)
pathlib.Path(os.environ["E2E_SCRATCH"], "ready-%d" % rank).write_text("ready")
while True:
    dist.barrier()
    time.sleep(0.05)
)PY";

class DistributedEdges : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch_with_gloo()) GTEST_SKIP() << "Debian python3-torch (with gloo) is not installed";
  }
};

TEST_F(DistributedEdges, HostNeverArrives) {
  SimulatedCluster cluster(
      2, {{"sagemaker_program", "train.py"}, {"sagemaker_torch_distributed_enabled", true}},
      "train.py", kBlockingRanks);
  const auto t0 = Clock::now();
  ProcessResult r = cluster.hosts[0]->run_train(
      [&] {
        Env env = cluster.shared;
        env["SMRUN_HOST_WAIT_SECONDS"] = "2";
        return env;
      }(),
      30s);
  const auto elapsed = Clock::now() - t0;
  EXPECT_EQ(r.exit_code, 69) << r.err;
  EXPECT_LT(elapsed, 10s);
  EXPECT_NE(r.err.find("algo-2"), std::string::npos) << r.err;
  ASSERT_TRUE(fs::exists(cluster.hosts[0]->failure_file()));
  const std::string failure = read_file(cluster.hosts[0]->failure_file());
  EXPECT_NE(failure.find("algo-2"), std::string::npos) << failure;
  // The port is random, so only the root-cause prefix is fixed.
  EXPECT_EQ(failure.rfind("ClusterError: timed out after 2s waiting for host algo-2 ", 0), 0u)
      << failure;
  EXPECT_FALSE(fs::exists(cluster.hosts[0]->success_file()));
}

TEST_F(DistributedEdges, SigtermToOneHost) {
  SimulatedCluster cluster(
      2, {{"sagemaker_program", "block.py"}, {"sagemaker_torch_distributed_enabled", true}},
      "block.py", kBlockingRanks);
  const Env extra{{"SMRUN_NPROC_PER_NODE", "1"}};
  auto host1 = cluster.start(0, extra);
  auto host2 = cluster.start(1, extra);
  ASSERT_TRUE(wait_for_file(cluster.hosts[0]->scratch() / "ready-0", 90s))
      << read_file(cluster.hosts[0]->scratch() / "smrun.err");
  ASSERT_TRUE(wait_for_file(cluster.hosts[1]->scratch() / "ready-1", 90s))
      << read_file(cluster.hosts[1]->scratch() / "smrun.err");

  const auto t0 = Clock::now();
  ASSERT_EQ(::kill(host2->pid(), SIGTERM), 0);
  auto r2 = host2->wait_for(20s);
  // One shared 20 s budget for the whole gang, not 20 s per host.
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(20s - (Clock::now() - t0));
  auto r1 = host1->wait_for(std::max(left, std::chrono::milliseconds(0)));
  const auto elapsed = Clock::now() - t0;
  ASSERT_TRUE(r2.has_value()) << "algo-2's smrun still running 20 s after SIGTERM";
  ASSERT_TRUE(r1.has_value()) << "algo-1's smrun still running 20 s after algo-2 got SIGTERM";
  std::cout << "[ info ] SIGTERM to algo-2: algo-1 exit " << r1->exit_code << ", algo-2 exit "
            << r2->exit_code << ", both stopped after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms\n";
  EXPECT_EQ(r2->exit_code, 143) << r2->err;
  EXPECT_EQ(r1->exit_code, 143) << r1->err;
  EXPECT_EQ(r1->term_signal, 0);
  EXPECT_EQ(r2->term_signal, 0);

  ASSERT_TRUE(fs::exists(cluster.hosts[0]->failure_file())) << r1->err;
  const std::string failure = read_file(cluster.hosts[0]->failure_file());
  EXPECT_NE(failure.find("algo-2"), std::string::npos) << failure;
  EXPECT_NE(failure.find("SIGTERM"), std::string::npos) << failure;
  // Both hosts report the same root cause: the signalled host, not the peer it took down.
  EXPECT_EQ(failure, "Stopped: algo-2 received SIGTERM\n");
  ASSERT_TRUE(fs::exists(cluster.hosts[1]->failure_file())) << r2->err;
  EXPECT_EQ(read_file(cluster.hosts[1]->failure_file()), "Stopped: algo-2 received SIGTERM\n");
  EXPECT_FALSE(fs::exists(cluster.hosts[0]->success_file()));
  EXPECT_FALSE(fs::exists(cluster.hosts[1]->success_file()));
}

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
