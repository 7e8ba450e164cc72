#pragma once

// CPU and memory of each worker's process tree from /proc, and GPU use from nvidia-smi.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace smrun::metrics {

// The fields of /proc/<pid>/stat the sampler uses.
struct ProcStat {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgrp = 0;
  std::uint64_t cpu_ticks = 0;    // utime + stime, in clock ticks
  std::uint64_t start_ticks = 0;  // starttime: clock ticks after boot
  std::int64_t rss_pages = 0;
  // Exited or exiting, holding no memory any more: state Z or X (waiting to be reaped), or no
  // address space (vsize 0: between releasing its memory and becoming a zombie).
  bool ended = false;
};

// One /proc/<pid>/stat line; nullopt when it is not one. The command name, in parentheses, may
// hold spaces and parentheses itself: the fields after it start after its last ')'.
std::optional<ProcStat> parse_proc_stat(std::string_view text);

// Every live process's stat. Processes that vanish while being read are left out, and so are
// those that have ended and wait to be reaped: a rank between its exit and smrun's wait would
// otherwise show 0 MiB (its tree's only member, with no memory), a sample that never happened.
std::vector<ProcStat> read_proc_stats(const std::filesystem::path& proc = "/proc");
// Seconds since boot (/proc/uptime), the clock of ProcStat::start_ticks.
std::optional<double> read_uptime(const std::filesystem::path& proc = "/proc");

struct TreeUsage {
  double cpu_percent = 0;  // 100 = one core busy all the time
  double rss_mib = 0;
  std::size_t processes = 0;
};

// CPU% needs two looks at a process: this keeps the last one of each (by pid and start time,
// so a reused pid is a new process).
class CpuTracker {
 public:
  CpuTracker(long ticks_per_second, long page_size)
      : m_ticks_per_second(ticks_per_second), m_page_size(page_size) {}

  // Usage of each root's processes at `uptime` seconds: its process group (every worker leads
  // one) and every descendant of a member, wherever its group. A process seen for the first time
  // counts with its CPU time since it started; one seen before, with its CPU time since then. A
  // root with no process left gives nullopt.
  std::vector<std::optional<TreeUsage>> sample(const std::vector<ProcStat>& processes,
                                               const std::vector<pid_t>& roots, double uptime);

 private:
  long m_ticks_per_second;
  long m_page_size;
  // (pid, start_ticks) -> (cpu_ticks, uptime) at the last sample.
  std::map<std::pair<pid_t, std::uint64_t>, std::pair<std::uint64_t, double>> m_last;
};

struct GpuUsage {
  int index = 0;
  double utilization_percent = 0;
  double memory_used_mib = 0;
};

// `nvidia-smi --query-gpu=index,utilization.gpu,memory.used --format=csv,noheader,nounits`:
// "0, 87, 30512" per GPU. Lines that are not three numbers ("[N/A]") are skipped.
std::vector<GpuUsage> parse_nvidia_smi_query(std::string_view output);

}  // namespace smrun::metrics
