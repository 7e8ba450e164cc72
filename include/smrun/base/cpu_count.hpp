#pragma once

// How many CPUs this process may really use: the CPUs in its affinity mask, capped by a CPU
// quota of its cgroup (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`, the
// tightest along the path to the root), rounded up. A container given "--cpus 2" on a 64-core
// machine sees 64 online CPUs; starting 64 compression threads there only adds switching.

#include <filesystem>
#include <string_view>

namespace smrun::base {

// For this process: sched_getaffinity, /proc/self/cgroup and /sys/fs/cgroup. At least 1.
unsigned usable_cpu_count();

// The same rule on given inputs (tests): `affinity` CPUs, `proc_self_cgroup` the text of
// /proc/self/cgroup, `cgroup_root` where the hierarchy is mounted (v1 controllers below it as
// cpu/, cpu,cpuacct/; v2 at the root itself).
unsigned usable_cpu_count(unsigned affinity, std::string_view proc_self_cgroup,
                          const std::filesystem::path& cgroup_root);

}  // namespace smrun::base
