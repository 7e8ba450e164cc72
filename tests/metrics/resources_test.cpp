// Per-process-tree CPU and memory from /proc, and nvidia-smi's query output.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "smrun/metrics/resources.hpp"

namespace smrun::metrics {
namespace {

// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
// cutime cstime priority nice threads itreal starttime vsize rss ...
std::string stat_line(int pid, std::string_view comm, int ppid, int pgrp, int utime, int stime,
                      long start, long rss, char state = 'S', long vsize = 123456) {
  return std::to_string(pid) + " (" + std::string(comm) + ") " + state + " " +
         std::to_string(ppid) + " " + std::to_string(pgrp) + " 1 0 -1 4194560 100 0 0 0 " +
         std::to_string(utime) + " " + std::to_string(stime) + " 0 0 20 0 1 0 " +
         std::to_string(start) + " " + std::to_string(vsize) + " " + std::to_string(rss) +
         " 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
}

TEST(ProcStat, ParsesTheFieldsAfterTheLastParenthesis) {
  auto stat = parse_proc_stat(stat_line(42, "python3 (worker) 1", 7, 40, 150, 50, 1000, 2560));
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->pid, 42);
  EXPECT_EQ(stat->ppid, 7);
  EXPECT_EQ(stat->pgrp, 40);
  EXPECT_EQ(stat->cpu_ticks, 200u);
  EXPECT_EQ(stat->start_ticks, 1000u);
  EXPECT_EQ(stat->rss_pages, 2560);
  EXPECT_FALSE(stat->ended);
  for (char state : {'Z', 'X'}) {
    auto gone = parse_proc_stat(stat_line(43, "sh", 7, 40, 1, 1, 1000, 0, state));
    ASSERT_TRUE(gone) << state;
    EXPECT_TRUE(gone->ended) << state;
  }
  // Still running its exit, its memory already released: no row of RSS 0 for its tree (seen
  // once in the whole suite under load, after zombies were already left out).
  auto exiting = parse_proc_stat(stat_line(44, "sh", 7, 40, 1, 1, 1000, 0, 'R', 0));
  ASSERT_TRUE(exiting);
  EXPECT_TRUE(exiting->ended);
  EXPECT_FALSE(parse_proc_stat("42 (x) S 1 2"));
  EXPECT_FALSE(parse_proc_stat("garbage"));
  EXPECT_FALSE(parse_proc_stat(""));
}

TEST(ProcStat, ReadsThisProcess) {
  const auto all = read_proc_stats();
  const auto self =
      std::find_if(all.begin(), all.end(), [](const ProcStat& p) { return p.pid == ::getpid(); });
  ASSERT_NE(self, all.end());
  EXPECT_EQ(self->pgrp, ::getpgrp());
  EXPECT_GT(self->rss_pages, 0);
  EXPECT_TRUE(read_uptime());
}

// A child that has exited but is not reaped yet (a zombie, RSS 0) is not a process to sample:
// seen while a rank was between its exit and smrun's wait, it gave a memory sample of 0 MiB.
TEST(ProcStat, LeavesOutAnEndedProcessNotYetReaped) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);  // not reaped
  auto has = [](pid_t pid) {
    const auto all = read_proc_stats();
    return std::any_of(all.begin(), all.end(), [&](const ProcStat& p) { return p.pid == pid; });
  };
  EXPECT_FALSE(has(child));
  EXPECT_TRUE(has(::getpid()));
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
}

TEST(CpuTracker, SumsTheGroupAndItsDescendants) {
  // 100 ticks a second, 4 KiB pages. Worker 100 leads group 100; its child 101 is in the group,
  // 102 (a child of 101) made a group of its own, 200 is another worker, 300 is unrelated.
  CpuTracker tracker(100, 4096);
  std::vector<ProcStat> first = {
      {100, 1, 100, 100, 0, 256},  // 1 s of CPU since boot tick 0: started at uptime 0
      {101, 100, 100, 0, 500, 256}, {102, 101, 102, 0, 500, 512},
      {200, 1, 200, 50, 0, 256},    {300, 1, 300, 999, 0, 256},
  };
  // At uptime 10 s: first sight, CPU over each process's life.
  auto usage = tracker.sample(first, {100, 200, 400}, 10);
  ASSERT_EQ(usage.size(), 3u);
  ASSERT_TRUE(usage[0]);
  EXPECT_EQ(usage[0]->processes, 3u);
  EXPECT_DOUBLE_EQ(usage[0]->cpu_percent, 10.0);  // 1 s over 10 s; 101 and 102 have used none
  EXPECT_DOUBLE_EQ(usage[0]->rss_mib, 4.0);       // 1024 pages of 4 KiB
  ASSERT_TRUE(usage[1]);
  EXPECT_DOUBLE_EQ(usage[1]->cpu_percent, 5.0);
  EXPECT_FALSE(usage[2]);  // no such process
  // Two seconds later: 100 used 1 s more, 102 used 2 s (a whole core), 101 nothing.
  std::vector<ProcStat> second = first;
  second[0].cpu_ticks += 100;
  second[2].cpu_ticks += 200;
  usage = tracker.sample(second, {100, 200}, 12);
  ASSERT_TRUE(usage[0]);
  EXPECT_DOUBLE_EQ(usage[0]->cpu_percent, 150.0);
  EXPECT_DOUBLE_EQ(usage[1]->cpu_percent, 0.0);
  // A reused pid (another start time) is a new process: its CPU counts over its own life.
  std::vector<ProcStat> third = {{200, 1, 200, 100, 1100, 256}};
  usage = tracker.sample(third, {200}, 13);
  EXPECT_DOUBLE_EQ(usage[0]->cpu_percent, 50.0);  // 1 s of CPU in the 2 s since 11 s
}

TEST(NvidiaSmi, ParsesTheQueryOutput) {
  const auto gpus =
      parse_nvidia_smi_query("0, 87, 30512\n1, 0, 3\n2, [N/A], [N/A]\nbad\n3, 1, 2, 3\n");
  ASSERT_EQ(gpus.size(), 2u);
  EXPECT_EQ(gpus[0].index, 0);
  EXPECT_EQ(gpus[0].utilization_percent, 87);
  EXPECT_EQ(gpus[0].memory_used_mib, 30512);
  EXPECT_EQ(gpus[1].index, 1);
  EXPECT_EQ(gpus[1].memory_used_mib, 3);
  EXPECT_TRUE(parse_nvidia_smi_query("").empty());
}

}  // namespace
}  // namespace smrun::metrics
