// examples/cpp-ddp end to end: the libtorch trainer as a native entry point, two simulated
// hosts times two ranks, rendezvousing through c10d's TCPStore and all-reducing over gloo with
// nothing but the environment smrun's native launcher gives each rank. The example is built
// only when libtorch is installed (and not in the sanitizer build); without it these tests
// are skipped.

#include <gtest/gtest.h>

#include "e2e/job_fixture.hpp"
#include "e2e/simulated_cluster.hpp"

namespace smrun::test::e2e {
namespace {

constexpr const char* kProgram = "cpp_ddp_train";

// A cluster whose code dir holds the compiled example as the entry point.
std::unique_ptr<SimulatedCluster> cpp_ddp_cluster(nlohmann::ordered_json hyperparameters) {
  hyperparameters["sagemaker_program"] = kProgram;
  hyperparameters["sagemaker_torch_distributed_enabled"] = true;
  auto cluster = std::make_unique<SimulatedCluster>(2, hyperparameters, kProgram, "");
#ifdef SMRUN_CPP_DDP_EXAMPLE
  for (auto& host : cluster->hosts) {
    const fs::path target = host->code_dir() / kProgram;
    fs::copy_file(SMRUN_CPP_DDP_EXAMPLE, target, fs::copy_options::overwrite_existing);
    fs::permissions(target, fs::perms::owner_all, fs::perm_options::replace);
  }
#endif
  return cluster;
}

class CppDdpExample : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef SMRUN_CPP_DDP_EXAMPLE
    GTEST_SKIP() << "examples/cpp-ddp was not built (needs libtorch-dev and libgloo-dev, and "
                    "SMRUN_BUILD_EXAMPLES=ON, which the sanitizer build turns off)";
#endif
  }
};

TEST_F(CppDdpExample, TwoHostsTimesTwoRanksTrainAndSaveTheModel) {
  auto cluster = cpp_ddp_cluster({{"epochs", 200}, {"lr", 0.1}});
  auto results = cluster->run_all({{"SMRUN_NPROC_PER_NODE", "2"}});
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
  // Averaged gradients over the four shards fit the generating line y = 3*x1 - 2*x2 + 0.5.
  const fs::path model = cluster->hosts[0]->model_dir() / "model.pt";
  const std::string final_line =
      "[algo-1:0] final loss=0.00000 weights=[3.000, -2.000] "
      "bias=0.500 saved=" +
      model.string() + "\n";
  EXPECT_NE(all_out.find(final_line), std::string::npos) << all_out;
  EXPECT_TRUE(fs::exists(model));
  EXPECT_GT(fs::file_size(model), 0u);
  EXPECT_FALSE(fs::exists(cluster->hosts[1]->model_dir() / "model.pt"));  // rank 0 saves
  EXPECT_EQ(tar_members(cluster->hosts[0]->default_archive()),
            std::vector<std::string>{"model.pt"});
  EXPECT_TRUE(fs::exists(cluster->hosts[0]->success_file()));
  EXPECT_TRUE(fs::exists(cluster->hosts[1]->success_file()));
}

TEST_F(CppDdpExample, OneRankFailingTearsDownEveryHostWithTheRootCause) {
  auto cluster = cpp_ddp_cluster({{"epochs", 1000000}, {"fail-rank", 3}, {"fail-code", 3}});
  auto t0 = std::chrono::steady_clock::now();
  auto results = cluster->run_all({{"SMRUN_NPROC_PER_NODE", "2"}});
  auto elapsed = std::chrono::steady_clock::now() - t0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].exit_code, 3) << "host " << i + 1 << " stderr:\n" << results[i].err;
    EXPECT_FALSE(results[i].timed_out);
  }
  // The surviving ranks sit in the gradient all-reduce; only fail-fast teardown ends them.
  EXPECT_LT(elapsed, 120s);
  for (auto& host : cluster->hosts) {
    ASSERT_TRUE(fs::exists(host->failure_file()));
    const std::string failure = read_file(host->failure_file());
    EXPECT_EQ(failure.rfind(std::string("ExecuteUserScriptError: ") + kProgram +
                                " exited with code 3 on algo-2 (rank 3)",
                            0),
              0u)
        << failure;
    EXPECT_FALSE(fs::exists(host->success_file()));
  }
}

}  // namespace
}  // namespace smrun::test::e2e
