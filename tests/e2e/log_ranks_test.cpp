// SMRUN_LOG_RANKS through `smrun train`: only the chosen ranks reach the console, every rank its
// log file, and a hidden rank that fails first still shows its last lines.

#include <gtest/gtest.h>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

// Rank 2 fails once every rank has said hello (a file per rank; bounded wait), the others wait
// to be stopped.
constexpr const char* kRanks = R"SH(#!/bin/sh
echo "hello from rank $RANK"
echo "note from rank $RANK" >&2
: > "$E2E_SCRATCH/said-$RANK"
if [ "$RANK" = 2 ] && [ "$FAIL" = 1 ]; then
  n=0
  while [ "$(ls "$E2E_SCRATCH" | grep -c said-)" -lt 4 ]; do
    n=$((n + 1)); [ $n -gt 2000 ] && exit 9
    sleep 0.01
  done
  echo "ValueError: rank 2 broke" >&2
  exit 3
fi
[ "$FAIL" = 1 ] && exec sleep 60
exit 0
)SH";

void write_job(const JobDir& job) {
  job.write_sdk_hyperparameters({{"sagemaker_program", "ranks.sh"}});
  job.write_code_file("ranks.sh", kRanks, /*executable=*/true);
}

TEST(LogRanks, OnlyTheChosenRanksReachTheConsoleAndEveryRankItsLogFile) {
  JobDir job;
  write_job(job);
  const std::string logs = (job.scratch() / "logs").string();
  ProcessResult r = job.run_train({{"SMRUN_LAUNCHER", "native"},
                                   {"SMRUN_NPROC_PER_NODE", "4"},
                                   {"SMRUN_LOG_RANKS", "0,3"},
                                   {"SMRUN_RANK_LOG_DIR", logs},
                                   {"FAIL", "0"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (int rank = 0; rank < 4; ++rank) {
    const bool shown = rank == 0 || rank == 3;
    const std::string out =
        "[algo-1:" + std::to_string(rank) + "] hello from rank " + std::to_string(rank) + "\n";
    const std::string err =
        "[algo-1:" + std::to_string(rank) + "] note from rank " + std::to_string(rank) + "\n";
    EXPECT_EQ(r.out.find(out) != std::string::npos, shown) << rank << "\n" << r.out;
    EXPECT_EQ(r.err.find(err) != std::string::npos, shown) << rank << "\n" << r.err;
    EXPECT_EQ(read_file(job.scratch() / "logs" / ("algo-1-" + std::to_string(rank) + ".log")),
              "hello from rank " + std::to_string(rank) + "\nnote from rank " +
                  std::to_string(rank) + "\n");
  }
}

TEST(LogRanks, AHiddenRankThatFailsShowsItsLastLinesAndIsTheRootCause) {
  JobDir job;
  write_job(job);
  ProcessResult r = job.run_train({{"SMRUN_LAUNCHER", "native"},
                                   {"SMRUN_NPROC_PER_NODE", "4"},
                                   {"SMRUN_LOG_RANKS", "0"},
                                   {"FAIL", "1"}});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("algo-1:2 failed; its output is hidden by SMRUN_LOG_RANKS, so its last "
                       "lines follow\n[algo-1:2] note from rank 2\n[algo-1:2] ValueError: rank 2 "
                       "broke\n"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out.find("hello from rank 1"), std::string::npos) << r.out;
  EXPECT_EQ(first_line(read_file(job.failure_file())),
            "ExecuteUserScriptError: ranks.sh exited with code 3 on algo-1 (rank 2)");
}

}  // namespace
}  // namespace smrun::test::e2e
