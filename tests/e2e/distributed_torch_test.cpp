// Several simulated hosts on this machine, each its own smrun with its own /opt/ml tree and
// resourceconfig.json, running real PyTorch (Debian's python3-torch, gloo on CPU). Hosts get
// loopback addresses 127.0.0.2, 127.0.0.3, ... through SMRUN_HOST_ADDRESSES, so every packet
// stays on this machine.

#include <gtest/gtest.h>

#include <future>
#include <random>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

bool have_torch() {
  ProcessOptions o;
  o.argv = {"/usr/bin/python3", "-c",
            "import torch.distributed as d; assert d.is_gloo_available()"};
  o.timeout = 60s;
  return run_process(o).exit_code == 0;
}

int random_port() {
  std::random_device rd;
  return 20000 + static_cast<int>(rd() % 20000);
}

struct Cluster {
  std::vector<std::unique_ptr<JobDir>> hosts;
  Env shared;

  Cluster(int n, const nlohmann::ordered_json& hyperparameters) {
    std::string names, addresses;
    for (int i = 1; i <= n; ++i) {
      names += std::string(i > 1 ? "," : "") + "\"algo-" + std::to_string(i) + "\"";
      addresses += std::string(i > 1 ? "," : "") + "algo-" + std::to_string(i) + "=127.0.0." +
                   std::to_string(i + 1);
    }
    const std::string script = test::read_file(source_dir() / "examples/pytorch-ddp/train.py");
    for (int i = 1; i <= n; ++i) {
      auto job = std::make_unique<JobDir>();
      job->write_resource_config("{\"current_host\": \"algo-" + std::to_string(i) +
                                 "\", \"hosts\": [" + names +
                                 "], \"network_interface_name\": \"lo\"}");
      job->write_sdk_hyperparameters(hyperparameters);
      job->write_code_file("train.py", script);
      hosts.push_back(std::move(job));
    }
    const int base_port = random_port();
    shared = {{"SMRUN_HOST_ADDRESSES", addresses},
              {"SMRUN_MASTER_ADDR_IP", "1"},
              {"SMRUN_MASTER_PORT", std::to_string(base_port)},
              {"SMRUN_CONTROL_PORT", std::to_string(base_port + 1)},
              {"SMRUN_HOST_WAIT_SECONDS", "60"},
              {"SMRUN_TERM_GRACE_SECONDS", "5"},
              {"GLOO_SOCKET_IFNAME", "lo"},
              {"TRAINING_JOB_NAME", "e2e-ddp"}};
  }

  std::vector<ProcessResult> run_all(const Env& extra = {}) {
    std::vector<std::future<ProcessResult>> running;
    for (auto& job : hosts) {
      Env env = shared;
      env.insert(extra.begin(), extra.end());
      running.push_back(
          std::async(std::launch::async, [&job, env] { return job->run_train(env, 180s); }));
    }
    std::vector<ProcessResult> results;
    for (auto& r : running) results.push_back(r.get());
    return results;
  }
};

class DistributedTorch : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_torch()) GTEST_SKIP() << "Debian python3-torch (with gloo) is not installed";
  }
};

TEST_F(DistributedTorch, NativeTwoHostsTimesTwoRanksAllReduce) {
  Cluster cluster(2, {{"epochs", 5},
                      {"sagemaker_program", "train.py"},
                      {"sagemaker_torch_distributed_enabled", true}});
  auto results = cluster.run_all({{"SMRUN_NPROC_PER_NODE", "2"}});
  std::string all_out;
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].exit_code, 0) << "host " << i + 1 << " stderr:\n" << results[i].err;
    all_out += results[i].out;
  }
  // Every rank saw 1+2+3+4 = 10, and its lines carry the host:rank prefix.
  for (int rank = 0; rank < 4; ++rank) {
    const std::string host = rank < 2 ? "algo-1" : "algo-2";
    const std::string line = "[" + host + ":" + std::to_string(rank) +
                             "] rank=" + std::to_string(rank) + " world=4 host=" + host +
                             " allreduce=10.0\n";
    EXPECT_NE(all_out.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << all_out;
  }
  EXPECT_TRUE(fs::exists(cluster.hosts[0]->model_dir() / "model.pt"));
  EXPECT_TRUE(fs::exists(cluster.hosts[0]->success_file()));
  EXPECT_TRUE(fs::exists(cluster.hosts[1]->success_file()));
}

TEST_F(DistributedTorch, OneRankFailingTearsDownEveryHostWithTheRootCause) {
  Cluster cluster(2, {{"epochs", 1000000},
                      {"fail-rank", 3},
                      {"fail-code", 3},
                      {"sagemaker_program", "train.py"},
                      {"sagemaker_torch_distributed_enabled", true}});
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
}

}  // namespace
}  // namespace smrun::test::e2e
