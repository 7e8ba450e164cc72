#include "smrun/supervise/exit_info.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "smrun/supervise/run_result.hpp"
#include "smrun/supervise/signals.hpp"

namespace smrun::supervise {
namespace {

TEST(ExitInfo, DecodesAnExitCode) {
  ExitInfo info = decode_wait_status(W_EXITCODE(3, 0));
  EXPECT_EQ(info.exit_code, 3);
  EXPECT_EQ(info.signal, 0);
  EXPECT_FALSE(info.core_dumped);
  EXPECT_TRUE(failed(info));
  EXPECT_EQ(describe(info), "exit code 3");
}

TEST(ExitInfo, ZeroIsSuccess) {
  ExitInfo info = decode_wait_status(W_EXITCODE(0, 0));
  EXPECT_EQ(info.exit_code, 0);
  EXPECT_FALSE(failed(info));
}

TEST(ExitInfo, DecodesASignalAs128Plus) {
  ExitInfo info = decode_wait_status(W_EXITCODE(0, SIGKILL));
  EXPECT_EQ(info.signal, 9);
  EXPECT_EQ(info.exit_code, 137);
  EXPECT_FALSE(info.core_dumped);
  EXPECT_EQ(describe(info), "signal SIGKILL");
}

TEST(ExitInfo, DecodesACoreDump) {
  ExitInfo info = decode_wait_status(W_EXITCODE(0, SIGSEGV) | WCOREFLAG);
  EXPECT_EQ(info.signal, SIGSEGV);
  EXPECT_EQ(info.exit_code, 128 + SIGSEGV);
  EXPECT_TRUE(info.core_dumped);
  EXPECT_EQ(describe(info), "signal SIGSEGV (core dumped)");
}

TEST(SignalName, NamesAndNumbers) {
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(SIGUSR2), "SIGUSR2");
  EXPECT_EQ(signal_name(SIGRTMIN + 3), "signal " + std::to_string(SIGRTMIN + 3));
}

WorkerResult worker_with(int exit_code, int signal = 0) {
  WorkerResult w;
  w.exit.exit_code = exit_code;
  w.exit.signal = signal;
  return w;
}

TEST(RunResultExitCode, ZeroWithoutFailure) {
  RunResult run;
  run.workers = {worker_with(0), worker_with(0)};
  EXPECT_EQ(run.exit_code(), 0);
  run.received_signal = SIGTERM;  // workers chose to exit 0 on SIGTERM: their verdict stands
  EXPECT_EQ(run.exit_code(), 0);
}

TEST(RunResultExitCode, FirstFailureDecides) {
  RunResult run;
  run.workers = {worker_with(137, 9), worker_with(3)};
  run.first_failure = 1;
  EXPECT_EQ(run.exit_code(), 3);
}

TEST(RunResultExitCode, FailureBeforeTheSignalKeepsItsCode) {
  RunResult run;
  run.workers = {worker_with(3)};
  run.first_failure = 0;
  run.received_signal = SIGTERM;
  run.failure_after_signal = false;
  EXPECT_EQ(run.exit_code(), 3);
}

TEST(RunResultExitCode, FailureAfterTheSignalKeepsItsCode) {
  RunResult run;
  run.workers = {worker_with(137)};  // ignored SIGINT, SIGKILLed after the grace
  run.first_failure = 0;
  run.received_signal = SIGINT;
  run.failure_after_signal = true;
  EXPECT_EQ(run.exit_code(), 137);
}

}  // namespace
}  // namespace smrun::supervise
