#include "smrun/base/cpu_count.hpp"

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace smrun::base {
namespace {

using test::TempDir;
using test::write_file;

TEST(UsableCpuCount, TheAffinityMaskWhenNoQuotaIsSet) {
  TempDir root;
  write_file(root / "cpu.max", "max 100000\n");
  EXPECT_EQ(usable_cpu_count(64, "0::/\n", root.path()), 64u);
  EXPECT_EQ(usable_cpu_count(0, "", root.path()), 1u);
}

TEST(UsableCpuCount, CgroupV2QuotaRoundedUpAndTheTightestAncestorWins) {
  TempDir root;
  write_file(root / "job" / "cpu.max", "250000 100000\n");  // 2.5 CPUs -> 3
  write_file(root / "job" / "step" / "cpu.max", "max 100000\n");
  EXPECT_EQ(usable_cpu_count(64, "0::/job/step\n", root.path()), 3u);
  write_file(root / "cpu.max", "100000 100000\n");  // the root's 1 CPU is tighter
  EXPECT_EQ(usable_cpu_count(64, "0::/job/step\n", root.path()), 1u);
  EXPECT_EQ(usable_cpu_count(2, "0::/job\n", (root / "none").string()), 2u);
}

TEST(UsableCpuCount, CgroupV1CfsQuotaOfTheCpuController) {
  TempDir root;
  write_file(root / "cpu,cpuacct" / "docker" / "c1" / "cpu.cfs_quota_us", "400000\n");
  write_file(root / "cpu,cpuacct" / "docker" / "c1" / "cpu.cfs_period_us", "100000\n");
  write_file(root / "memory" / "docker" / "c1" / "cpu.cfs_quota_us", "100000\n");  // not cpu
  EXPECT_EQ(
      usable_cpu_count(64, "12:memory:/docker/c1\n4:cpu,cpuacct:/docker/c1\n0::/\n", root.path()),
      4u);
  write_file(root / "cpu,cpuacct" / "docker" / "c1" / "cpu.cfs_quota_us", "-1\n");  // unlimited
  EXPECT_EQ(usable_cpu_count(8, "4:cpu,cpuacct:/docker/c1\n", root.path()), 8u);
  EXPECT_EQ(usable_cpu_count(3, "4:cpu,cpuacct:/docker/c1\n", root.path()), 3u);
}

TEST(UsableCpuCount, ThisProcessGetsAtLeastOne) {
  EXPECT_GE(usable_cpu_count(), 1u);
}

}  // namespace
}  // namespace smrun::base
