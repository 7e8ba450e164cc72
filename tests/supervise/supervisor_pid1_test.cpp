// The supervisor as a real PID 1 (new PID namespace with its own /proc), as in a container:
// the kernel gives PID 1 no default signal actions, and every orphan in the namespace is ours.
// Needs CAP_SYS_ADMIN; skipped otherwise.

#include <gtest/gtest.h>

#include "supervise/harness.hpp"
#include "supervise/worker_scripts.hpp"

namespace smrun::supervise::testing {
namespace {

TEST(SupervisePid1, SigtermFromOutsideIsForwardedToTheWholeGroup) {
  test::TempDir dir;
  ReadyFifo fifo(dir / "ready");
  SupervisorProcess sup(
      dir, {python_spec(dir, "w0", kGroupTermWorker, {dir.path().string(), fifo.path().string()})},
      SuperviseOptions{std::chrono::seconds(30)}, SupervisorProcess::Mode::kPid1);
  const bool blocked = sup.wait_until_blocked();
  if (sup.pid1_unavailable()) GTEST_SKIP() << "cannot create a PID namespace here";
  ASSERT_TRUE(blocked);
  ASSERT_NE(sup.target(), sup.pid());  // really the namespace's PID 1, not the helper
  ASSERT_EQ(fifo.read_line(), "ready\n");
  sup.send(SIGTERM);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.self_pid, 1);
  EXPECT_EQ(test::read_file(dir / "leader"), "TERM");
  EXPECT_EQ(test::read_file(dir / "child"), "TERM");
  EXPECT_EQ(out.workers[0].signal, SIGTERM);
  EXPECT_EQ(out.received_signal, SIGTERM);
  EXPECT_EQ(out.exit_code, 143);
  EXPECT_FALSE(out.killed_after_grace);
  EXPECT_TRUE(out.no_children_left);
}

TEST(SupervisePid1, OrphansAreReaped) {
  test::TempDir dir;
  SupervisorProcess sup(dir, {python_spec(dir, "w0", kReapedWhileRunning)}, SuperviseOptions{},
                        SupervisorProcess::Mode::kPid1);
  const bool blocked = sup.wait_until_blocked();
  if (sup.pid1_unavailable()) GTEST_SKIP() << "cannot create a PID namespace here";
  ASSERT_TRUE(blocked);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.self_pid, 1);
  EXPECT_EQ(out.workers[0].exit_code, 0);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_TRUE(out.no_children_left);
  EXPECT_NE(out.log_text.find("debug reaped orphan process "), std::string::npos) << out.log_text;
}

TEST(SupervisePid1, LeftoverOutsideWorkerGroupsIsKilled) {
  test::TempDir dir;
  // As PID 1, list_children() reads the namespace's own /proc.
  SupervisorProcess sup(dir,
                        {python_spec(dir, "w0",
                                     "import os, signal, sys\n"
                                     "r, w = os.pipe()\n"
                                     "if os.fork() == 0:\n"
                                     "    os.setsid()\n"
                                     "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                                     "    os.write(w, b'x')\n"
                                     "    never, _ = os.pipe()\n"
                                     "    os.read(never, 1)\n"
                                     "os.read(r, 1)\n")},
                        SuperviseOptions{std::chrono::seconds(1)}, SupervisorProcess::Mode::kPid1);
  const bool blocked = sup.wait_until_blocked();
  if (sup.pid1_unavailable()) GTEST_SKIP() << "cannot create a PID namespace here";
  ASSERT_TRUE(blocked);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.self_pid, 1);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_TRUE(out.killed_after_grace);
  EXPECT_TRUE(out.no_children_left);
  EXPECT_NE(out.log_text.find("warning sending SIGKILL to leftover process "), std::string::npos)
      << out.log_text;
}

}  // namespace
}  // namespace smrun::supervise::testing
