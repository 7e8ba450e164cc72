#pragma once

// Several simulated hosts on this machine for the distributed end-to-end tests: each host is its
// own `smrun train` with its own /opt/ml tree, hosts are loopback addresses 127.0.0.2,
// 127.0.0.3, ... (SMRUN_HOST_ADDRESSES), and ranks run Debian's PyTorch over gloo.

#include <future>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {

inline bool torch_with_gloo() {
  ProcessOptions o;
  o.argv = {"/usr/bin/python3", "-c",
            "import torch.distributed as d; assert d.is_gloo_available()"};
  o.timeout = 60s;
  return run_process(o).exit_code == 0;
}

inline int pick_port() {
  std::random_device rd;
  return 20000 + static_cast<int>(rd() % 20000);
}

// The line examples/pytorch-ddp/train.py and examples/cpp-ddp print per rank, with smrun's
// "[host:rank] " prefix: every rank of a 4-rank job sums 1+2+3+4.
inline std::string allreduce_line(const std::string& host, int rank) {
  const std::string r = std::to_string(rank);
  return "[" + host + ":" + r + "] rank=" + r + " world=4 host=" + host + " allreduce=10.0\n";
}

// A rank for fault tests, plain Python (no torch): each rank records its pid in
// <scratch>/pid-rank<R>; rank $E2E_FAULT_RANK waits for <scratch>/trigger and then exits 3; the
// others block in signal.pause(). Rank $E2E_IGNORE_TERM_RANK ignores SIGTERM, like a
// program stuck in a collective that never checks for signals.
inline constexpr const char* kBlockingRankScript = R"PY(import os, pathlib, signal, sys, time
scratch = pathlib.Path(os.environ["E2E_SCRATCH"])
rank = int(os.environ["RANK"])
if str(rank) == os.environ.get("E2E_IGNORE_TERM_RANK"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
tmp = scratch / ("pid-rank%d.tmp" % rank)
tmp.write_text(str(os.getpid()))
tmp.rename(scratch / ("pid-rank%d" % rank))
if str(rank) == os.environ.get("E2E_FAULT_RANK"):
    while not (scratch / "trigger").exists():
        time.sleep(0.02)
    sys.exit(3)
while True:
    signal.pause()
)PY";

// One JobDir per host, each with a resourceconfig.json naming itself current_host.
struct SimulatedCluster {
  std::vector<std::unique_ptr<JobDir>> hosts;
  Env shared;

  SimulatedCluster(int n, const nlohmann::ordered_json& hyperparameters, const std::string& program,
                   const std::string& script, const std::string& job_name = "e2e-cluster") {
    std::string names, addresses;
    for (int i = 1; i <= n; ++i) {
      names += std::string(i > 1 ? "," : "") + "\"algo-" + std::to_string(i) + "\"";
      addresses += std::string(i > 1 ? "," : "") + "algo-" + std::to_string(i) + "=127.0.0." +
                   std::to_string(i + 1);
    }
    for (int i = 1; i <= n; ++i) {
      auto job = std::make_unique<JobDir>();
      job->write_resource_config("{\"current_host\": \"algo-" + std::to_string(i) +
                                 "\", \"hosts\": [" + names +
                                 "], \"network_interface_name\": \"lo\"}");
      job->write_sdk_hyperparameters(hyperparameters);
      job->write_code_file(program, script);
      hosts.push_back(std::move(job));
    }
    const int base_port = pick_port();
    shared = {{"SMRUN_HOST_ADDRESSES", addresses},
              {"SMRUN_MASTER_ADDR_IP", "1"},
              {"SMRUN_MASTER_PORT", std::to_string(base_port)},
              {"SMRUN_CONTROL_PORT", std::to_string(base_port + 1)},
              {"SMRUN_HOST_WAIT_SECONDS", "60"},
              {"SMRUN_TERM_GRACE_SECONDS", "5"},
              {"GLOO_SOCKET_IFNAME", "lo"},
              {"TRAINING_JOB_NAME", job_name}};
  }

  // shared, overridden by extra.
  Env env_for(std::size_t host, const Env& extra) const {
    Env env = shared;
    for (const auto& [k, v] : extra) env[k] = v;
    return hosts[host]->environment(env);
  }

  std::vector<ProcessResult> run_all(const Env& extra = {}) {
    std::vector<std::future<ProcessResult>> running;
    for (auto& job : hosts) {
      Env env = shared;
      for (const auto& [k, v] : extra) env[k] = v;
      running.push_back(
          std::async(std::launch::async, [&job, env] { return job->run_train(env, 180s); }));
    }
    std::vector<ProcessResult> results;
    for (auto& r : running) results.push_back(r.get());
    return results;
  }

  // smrun train for one host in the background, so the test can signal it.
  std::unique_ptr<BackgroundProcess> start(std::size_t host, const Env& extra) const {
    const auto& job = *hosts[host];
    return std::make_unique<BackgroundProcess>(
        std::vector<std::string>{smrun_binary().string(), "train"}, env_for(host, extra),
        job.scratch() / "smrun.out", job.scratch() / "smrun.err");
  }
};

}  // namespace smrun::test::e2e
