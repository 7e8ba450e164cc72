// The native launcher's per-rank variables against real torchrun (Debian's torch 1.13 under
// /usr/bin/python3): same names, same values, except where smrun deliberately differs.

#include <gtest/gtest.h>

#include <random>

#include "smrun/config/py_json.hpp"
#include "smrun/launch/rank_plan.hpp"
#include "smrun/launch/torchrun_plan.hpp"
#include "support/test_support.hpp"

namespace smrun::launch {
namespace {

const std::vector<std::string> kContractNames{"LOCAL_RANK",
                                              "RANK",
                                              "GROUP_RANK",
                                              "ROLE_RANK",
                                              "ROLE_NAME",
                                              "LOCAL_WORLD_SIZE",
                                              "WORLD_SIZE",
                                              "GROUP_WORLD_SIZE",
                                              "ROLE_WORLD_SIZE",
                                              "MASTER_ADDR",
                                              "MASTER_PORT",
                                              "TORCHELASTIC_RESTART_COUNT",
                                              "TORCHELASTIC_MAX_RESTARTS",
                                              "TORCHELASTIC_RUN_ID",
                                              "TORCHELASTIC_ERROR_FILE",
                                              "TORCHELASTIC_USE_AGENT_STORE",
                                              "NCCL_ASYNC_ERROR_HANDLING",
                                              "OMP_NUM_THREADS"};

bool torch_available() {
  test::ProcessOptions probe;
  probe.argv = {"/usr/bin/python3", "-c", "import torch.distributed.run"};
  probe.timeout = std::chrono::seconds(60);
  return test::run_process(probe).exit_code == 0;
}

TEST(TorchrunContract, NativeRankEnvMatchesRealTorchrun) {
  if (!torch_available()) GTEST_SKIP() << "/usr/bin/python3 cannot import torch.distributed.run";
  test::TempDir dir;
  std::string names_py;
  for (const auto& n : kContractNames) names_py += "'" + n + "',";
  test::write_file(
      dir / "dump.py",
      "import json, os, sys\n"
      "names = [" +
          names_py +
          "]\n"
          "with open(os.path.join(sys.argv[1], 'rank-%s.json' % os.environ['RANK']), 'w') as f:\n"
          "    json.dump({k: os.environ.get(k) for k in names}, f)\n");
  const int port =
      std::uniform_int_distribution<int>(20000, 40000)(*std::make_unique<std::random_device>());

  TorchrunInputs in;
  // torch 1.13 on Python 3.11 only parses single-stream values, and needs both flags.
  in.program = {"/usr/bin/python3",
                "-m",
                "torch.distributed.run",
                "--redirects",
                "2",
                "--tee",
                "1",
                "--master_port",
                std::to_string(port)};
  in.nproc_per_node = 2;
  in.entry_point = "dump.py";
  in.args = {dir.path().string()};
  auto cmd = torchrun_command(in);
  ASSERT_TRUE(cmd.has_value());

  test::ProcessOptions run;
  run.argv = *cmd;
  run.cwd = dir.path();
  run.timeout = std::chrono::seconds(90);
  auto env = test::current_environment();
  for (const auto& n : kContractNames) env.erase(n);
  run.env = env;
  auto result = test::run_process(run);
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;

  for (int rank = 0; rank < 2; ++rank) {
    auto doc =
        config::parse_py_json(test::read_file(dir / ("rank-" + std::to_string(rank) + ".json")));
    ASSERT_TRUE(doc.has_value());
    const RankLayout layout{rank, 2, 0, 1};
    env::EnvList ours = rank_contract_env(layout, {"127.0.0.1", port, "none"}, "/e/error.json");
    ours.append(torchrun_worker_defaults(2, {}));
    for (const auto& name : kContractNames) {
      const config::PyValue* theirs = doc->find(name);
      ASSERT_NE(theirs, nullptr) << name;
      const std::string* mine = ours.find(name);
      if (name == "TORCHELASTIC_USE_AGENT_STORE") {  // smrun hosts no agent store
        EXPECT_EQ(mine, nullptr);
        EXPECT_EQ(*theirs, config::PyValue::str("True"));
      } else if (name == "TORCHELASTIC_ERROR_FILE") {  // both set, paths differ by design
        ASSERT_NE(mine, nullptr);
        EXPECT_TRUE(theirs->is_str()) << name;
      } else {
        ASSERT_NE(mine, nullptr) << name;
        ASSERT_TRUE(theirs->is_str()) << name;
        EXPECT_EQ(*mine, theirs->as_str()) << name << " rank " << rank;
      }
    }
  }
}

}  // namespace
}  // namespace smrun::launch
