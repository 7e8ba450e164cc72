// RunResult::exit_code(): which event decides the job's exit code.

#include "smrun/supervise/run_result.hpp"

#include <gtest/gtest.h>
#include <signal.h>

namespace smrun::supervise {
namespace {

RunResult two_workers(int code0, int code1) {
  RunResult run;
  run.workers.resize(2);
  run.workers[0].exit.exit_code = code0;
  run.workers[1].exit.exit_code = code1;
  return run;
}

TEST(RunResultExitCode, SuccessIsZero) {
  EXPECT_EQ(two_workers(0, 0).exit_code(), 0);
}

TEST(RunResultExitCode, FirstFailureBeforeAnyStopGivesItsCode) {
  RunResult run = two_workers(143, 3);
  run.first_failure = 1;
  run.received_signal = SIGTERM;    // came later
  run.stop_reason = "peer failed";  // came later too
  EXPECT_EQ(run.exit_code(), 3);
}

TEST(RunResultExitCode, FailureAfterSignalKeepsTheProgramsOwnCode) {
  RunResult run = two_workers(1, 0);  // e.g. a SIGINT handler that exits 1
  run.first_failure = 0;
  run.received_signal = SIGINT;
  run.failure_after_signal = true;
  EXPECT_EQ(run.exit_code(), 1);
}

TEST(RunResultExitCode, GracefulExitAfterSignalIsZero) {
  RunResult run = two_workers(0, 0);
  run.received_signal = SIGTERM;
  EXPECT_EQ(run.exit_code(), 0);
}

TEST(RunResultExitCode, HookStopIs143WithOrWithoutFailures) {
  RunResult run = two_workers(0, 0);
  run.stop_reason = "peer failed";
  EXPECT_EQ(run.exit_code(), 143);
  run.workers[0].exit.exit_code = 137;
  run.first_failure = 0;
  run.failure_after_stop = true;
  EXPECT_EQ(run.exit_code(), 143);
}

TEST(RunResultExitCode, SignalBeforeHookStopKeepsTheWorkersCode) {
  RunResult run = two_workers(130, 0);
  run.first_failure = 0;
  run.received_signal = SIGINT;
  run.failure_after_signal = true;
  run.stop_reason = "peer failed";
  run.failure_after_stop = true;
  EXPECT_EQ(run.exit_code(), 130);
}

}  // namespace
}  // namespace smrun::supervise
