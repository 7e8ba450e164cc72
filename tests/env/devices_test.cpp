// Device detection: nvidia-smi and neuron-ls output parsing, /proc fallback, SMRUN_NUM_* overrides.

#include "smrun/env/devices.hpp"

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace smrun::env {
namespace {

TEST(Devices, NvidiaSmiListGpus) {
  EXPECT_EQ(count_gpus_in_nvidia_smi_output(""), 0);
  EXPECT_EQ(count_gpus_in_nvidia_smi_output("GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-1)\n"
                                            "GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-2)\n"
                                            "No devices were found\n"
                                            "  GPU 2: indented is not a GPU line\n"),
            2);
}

TEST(Devices, ProcFallbackCountsEntries) {
  test::TempDir dir;
  EXPECT_EQ(count_gpus_in_proc((dir / "missing").string()), 0);
  test::write_file(dir / "0000:00:1e.0" / "information", "Model: A10G\n");
  test::write_file(dir / "0000:00:1f.0" / "information", "Model: A10G\n");
  EXPECT_EQ(count_gpus_in_proc(dir.path().string()), 2);
}

TEST(Devices, NeuronLsJsonSumsNcCount) {
  EXPECT_EQ(count_neuron_cores_in_neuron_ls_json(R"([{"nc_count": 2}, {"nc_count": 2}])"), 4);
  EXPECT_EQ(count_neuron_cores_in_neuron_ls_json("[]"), 0);
  EXPECT_EQ(count_neuron_cores_in_neuron_ls_json("not json"), std::nullopt);
}

TEST(Devices, OverridesWinAndSkipDetection) {
  EnvSnapshot env{{"SMRUN_NUM_CPUS", "96"},
                  {"SMRUN_NUM_GPUS", "8"},
                  {"SMRUN_NUM_NEURONS", "0"},
                  {"PATH", "/nonexistent"}};
  auto d = detect_devices(env, *settings::read_settings(env), "ml.p4d.24xlarge");
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->cpus, 96);
  EXPECT_EQ(d->gpus, 8);
  EXPECT_EQ(d->neurons, 0);
}

TEST(Devices, Trn2RuleGives64Cores) {
  EnvSnapshot env{{"SMRUN_NUM_CPUS", "4"}, {"SMRUN_NUM_GPUS", "0"}, {"PATH", "/nonexistent"}};
  auto d = detect_devices(env, *settings::read_settings(env), "ml.trn2.48xlarge");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->neurons, 64);
}

// Without an override, nvidia-smi on PATH is asked (`--list-gpus`), through the one spawner.
TEST(Devices, NvidiaSmiOnPathIsRun) {
  test::TempDir dir;
  test::write_file(dir / "nvidia-smi",
                   "#!/bin/sh\n"
                   "[ \"$1\" = --list-gpus ] || exit 2\n"
                   "echo 'GPU 0: NVIDIA A10G (UUID: GPU-a)'\n"
                   "echo 'GPU 1: NVIDIA A10G (UUID: GPU-b)'\n"
                   "echo 'GPU 2: NVIDIA A10G (UUID: GPU-c)'\n",
                   /*executable=*/true);
  EnvSnapshot env{{"SMRUN_NUM_CPUS", "1"},
                  {"SMRUN_NUM_NEURONS", "0"},
                  {"PATH", dir.path().string() + ":/usr/bin:/bin"}};
  auto d = detect_devices(env, *settings::read_settings(env), "ml.g5.12xlarge");
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->gpus, 3);
}

TEST(Devices, IsOnPathFindsExecutablesOnly) {
  test::TempDir dir;
  test::write_file(dir / "tool", "#!/bin/sh\n", /*executable=*/true);
  test::write_file(dir / "data", "x");
  EnvSnapshot env{{"PATH", "/nonexistent:" + dir.path().string()}};
  EXPECT_TRUE(is_on_path(env, "tool"));
  EXPECT_FALSE(is_on_path(env, "data"));
  EXPECT_FALSE(is_on_path(env, "missing"));
  EXPECT_FALSE(is_on_path(EnvSnapshot{}, "tool"));
}

}  // namespace
}  // namespace smrun::env
