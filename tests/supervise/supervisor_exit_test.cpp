// Exit codes and gang semantics of run_supervised, with real worker processes.

#include <gtest/gtest.h>

#include "supervise/harness.hpp"

namespace smrun::supervise::testing {
namespace {

TEST(SuperviseExit, SuccessfulWorker) {
  test::TempDir dir;
  SupervisorProcess sup(dir, {python_spec(dir, "w0", "pass\n")});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished) << out.log_text;
  ASSERT_TRUE(out.ok) << out.error;
  ASSERT_EQ(out.workers.size(), 1u);
  EXPECT_EQ(out.workers[0].exit_code, 0);
  EXPECT_EQ(out.workers[0].signal, 0);
  EXPECT_FALSE(out.workers[0].exec_failed);
  EXPECT_GT(out.workers[0].pid, 0);
  EXPECT_EQ(out.first_failure, -1);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.received_signal, 0);
  EXPECT_FALSE(out.killed_after_grace);
  EXPECT_TRUE(out.no_children_left);
  EXPECT_NE(out.log_text.find("info w0 (pid " + std::to_string(out.workers[0].pid) +
                              ") exited with code 0\n"),
            std::string::npos)
      << out.log_text;
}

TEST(SuperviseExit, ExitCodeIsPassedThrough) {
  test::TempDir dir;
  SupervisorProcess sup(dir, {python_spec(dir, "w0", "import sys\nsys.exit(3)\n")});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].exit_code, 3);
  EXPECT_EQ(out.workers[0].signal, 0);
  EXPECT_EQ(out.first_failure, 0);
  EXPECT_FALSE(out.failure_after_signal);
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_TRUE(out.no_children_left);
}

TEST(SuperviseExit, KilledBySignalIs128PlusSignal) {
  test::TempDir dir;
  SupervisorProcess sup(
      dir, {python_spec(dir, "w0", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].signal, 9);
  EXPECT_EQ(out.workers[0].exit_code, 137);
  EXPECT_FALSE(out.workers[0].core_dumped);
  EXPECT_EQ(out.first_failure, 0);
  EXPECT_EQ(out.exit_code, 137);
  EXPECT_EQ(out.received_signal, 0);
  EXPECT_FALSE(out.killed_after_grace);
}

TEST(SuperviseExit, OneFailureStopsTheOtherWorkers) {
  test::TempDir dir;
  // w0 would block forever; w1 fails. w0 must be stopped with SIGTERM (default action).
  SupervisorProcess sup(dir,
                        {make_spec("w0", {"/bin/sleep", "1000"}),
                         python_spec(dir, "w1", "import sys\nsys.exit(3)\n")},
                        SuperviseOptions{std::chrono::seconds(30)});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  ASSERT_EQ(out.workers.size(), 2u);
  EXPECT_EQ(out.workers[1].exit_code, 3);
  EXPECT_EQ(out.workers[0].signal, SIGTERM);
  EXPECT_EQ(out.workers[0].exit_code, 143);
  EXPECT_EQ(out.first_failure, 1);
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_EQ(out.received_signal, 0);
  EXPECT_FALSE(out.killed_after_grace);
  EXPECT_TRUE(out.no_children_left);
  EXPECT_NE(out.log_text.find("info sending SIGTERM to w0 (pgid " +
                              std::to_string(out.workers[0].pid) + "): another worker failed\n"),
            std::string::npos)
      << out.log_text;
}

TEST(SuperviseExit, WithoutFailFastAFailureLeavesTheOthersRunning) {
  test::TempDir dir;
  const std::string pid_file = (dir.path() / "w1.pid").string();
  // w1 records its pid and fails; w0 outlives it: it ends only once w1 has been reaped (its
  // /proc entry gone), which is when a fail-fast supervisor would have sent it SIGTERM.
  SupervisorProcess sup(dir,
                        {python_spec(dir, "w0",
                                     "import os, sys, time\n"
                                     "deadline = time.time() + 60\n"
                                     "while not os.path.exists('" +
                                         pid_file +
                                         "'):\n"
                                         "    time.sleep(0.01)\n"
                                         "    if time.time() > deadline: sys.exit(9)\n"
                                         "pid = open('" +
                                         pid_file +
                                         "').read().strip()\n"
                                         "while pid and os.path.exists('/proc/' + pid):\n"
                                         "    time.sleep(0.01)\n"
                                         "    if time.time() > deadline: sys.exit(9)\n"),
                         python_spec(dir, "w1",
                                     "import os, sys\n"
                                     "open('" +
                                         pid_file +
                                         ".tmp', 'w').write(str(os.getpid()))\n"
                                         "os.rename('" +
                                         pid_file + ".tmp', '" + pid_file +
                                         "')\n"
                                         "sys.exit(3)\n")},
                        SuperviseOptions{.grace = std::chrono::seconds(30), .fail_fast = false});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  ASSERT_EQ(out.workers.size(), 2u);
  EXPECT_EQ(out.workers[1].exit_code, 3);
  EXPECT_EQ(out.workers[0].exit_code, 0) << out.log_text;
  EXPECT_EQ(out.first_failure, 1);
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_EQ(out.log_text.find("another worker failed"), std::string::npos) << out.log_text;
}

TEST(SuperviseExit, AllWorkersSucceed) {
  test::TempDir dir;
  SupervisorProcess sup(dir, {python_spec(dir, "w0", "pass\n"), python_spec(dir, "w1", "pass\n"),
                              python_spec(dir, "w2", "pass\n")});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  ASSERT_EQ(out.workers.size(), 3u);
  for (const auto& w : out.workers) EXPECT_EQ(w.exit_code, 0);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.first_failure, -1);
}

TEST(SuperviseExit, NoWorkersIsImmediateSuccess) {
  test::TempDir dir;
  SupervisorProcess sup(dir, {});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_TRUE(out.workers.empty());
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_TRUE(out.no_children_left);
}

}  // namespace
}  // namespace smrun::supervise::testing
