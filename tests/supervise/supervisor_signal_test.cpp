// Signal forwarding, grace period and SIGKILL escalation, with real worker processes.

#include <gtest/gtest.h>

#include "supervise/harness.hpp"
#include "supervise/worker_scripts.hpp"

namespace smrun::supervise::testing {
namespace {

TEST(SuperviseSignals, SigtermReachesTheWholeWorkerGroup) {
  test::TempDir dir;
  ReadyFifo fifo(dir / "ready");
  SupervisorProcess sup(
      dir, {python_spec(dir, "w0", kGroupTermWorker, {dir.path().string(), fifo.path().string()})},
      SuperviseOptions{std::chrono::seconds(30)});
  ASSERT_TRUE(sup.wait_until_blocked());
  ASSERT_EQ(fifo.read_line(), "ready\n");
  const auto sent = Clock::now();
  sup.send(SIGTERM);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(test::read_file(dir / "leader"), "TERM");
  EXPECT_EQ(test::read_file(dir / "child"), "TERM");
  EXPECT_EQ(out.workers[0].signal, SIGTERM);
  EXPECT_EQ(out.workers[0].exit_code, 143);
  EXPECT_EQ(out.received_signal, SIGTERM);
  EXPECT_TRUE(out.failure_after_signal);
  EXPECT_EQ(out.first_failure, 0);
  EXPECT_EQ(out.exit_code, 143);
  EXPECT_FALSE(out.killed_after_grace);
  EXPECT_TRUE(out.no_children_left);
  EXPECT_LT(out.ended - sent, std::chrono::seconds(10));
  EXPECT_NE(out.log_text.find("info forwarding SIGTERM to w0 (pgid " +
                              std::to_string(out.workers[0].pid) + ")\n"),
            std::string::npos)
      << out.log_text;
}

TEST(SuperviseSignals, WorkerIgnoringSigtermIsKilledAfterTheGrace) {
  test::TempDir dir;
  ReadyFifo fifo(dir / "ready");
  SupervisorProcess sup(dir,
                        {python_spec(dir, "w0",
                                     "import os, signal, sys\n"
                                     "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                                     "r, w = os.pipe()\n"
                                     "open(sys.argv[1], 'w').write('ready\\n')\n"
                                     "os.read(r, 1)\n",
                                     {fifo.path().string()})},
                        SuperviseOptions{std::chrono::seconds(1)});
  ASSERT_TRUE(sup.wait_until_blocked());
  ASSERT_EQ(fifo.read_line(), "ready\n");
  const auto sent = Clock::now();
  sup.send(SIGTERM);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].signal, SIGKILL);
  EXPECT_EQ(out.workers[0].exit_code, 137);
  EXPECT_TRUE(out.killed_after_grace);
  EXPECT_EQ(out.received_signal, SIGTERM);
  EXPECT_EQ(out.exit_code, 137);  // the program's own death, not the signal smrun got
  EXPECT_GE(out.ended - sent, std::chrono::seconds(1));
  EXPECT_LT(out.ended - sent, std::chrono::seconds(4));
  EXPECT_TRUE(out.no_children_left);
  EXPECT_NE(out.log_text.find("warning w0 (pgid " + std::to_string(out.workers[0].pid) +
                              ") still running 1s after SIGTERM; sending SIGKILL\n"),
            std::string::npos)
      << out.log_text;
}

// Ctrl-C twice: the second SIGINT SIGKILLs the workers at once instead of waiting out the grace.
// The worker survives SIGINT and SIGTERM and reports each SIGINT it gets, so the test sends the
// second one only after the first was forwarded (two pending SIGINTs would merge into one).
TEST(SuperviseSignals, SecondSigintKillsAtOnce) {
  test::TempDir dir;
  ReadyFifo fifo(dir / "ready");
  SupervisorProcess sup(
      dir,
      {python_spec(dir, "w0",
                   "import os, signal, sys\n"
                   "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                   "fd = os.open(sys.argv[1], os.O_WRONLY)\n"
                   "signal.signal(signal.SIGINT, lambda s, f: os.write(fd, b'INT\\n'))\n"
                   "os.write(fd, b'ready\\n')\n"
                   "while True:\n"
                   "    signal.pause()\n",
                   {fifo.path().string()})},
      SuperviseOptions{std::chrono::seconds(600)});
  ASSERT_TRUE(sup.wait_until_blocked());
  ASSERT_EQ(fifo.read_line(), "ready\n");
  sup.send(SIGINT);
  ASSERT_EQ(fifo.read_line(), "INT\n");  // forwarded, and survived
  const auto sent = Clock::now();
  sup.send(SIGINT);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].signal, SIGKILL);
  EXPECT_EQ(out.exit_code, 137);
  EXPECT_EQ(out.received_signal, SIGINT);
  EXPECT_TRUE(out.killed_on_second_interrupt);
  EXPECT_FALSE(out.killed_after_grace);
  EXPECT_TRUE(out.no_children_left);
  EXPECT_LT(out.ended - sent, std::chrono::seconds(30));  // not the 600 s grace
  EXPECT_NE(
      out.log_text.find("warning received SIGINT again: sending SIGKILL to every worker now\n"),
      std::string::npos)
      << out.log_text;
}

TEST(SuperviseSignals, SigintIsForwardedAndGives130) {
  test::TempDir dir;
  SupervisorProcess sup(dir, {make_spec("w0", {"/bin/sleep", "1000"})},
                        SuperviseOptions{std::chrono::seconds(30)});
  // /bin/sleep has default dispositions as soon as it is exec'd, and run_supervised forwards
  // only after spawning, so no readiness handshake is needed.
  ASSERT_TRUE(sup.wait_until_blocked());
  sup.send(SIGINT);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].signal, SIGINT);
  EXPECT_EQ(out.received_signal, SIGINT);
  EXPECT_EQ(out.exit_code, 130);
  EXPECT_FALSE(out.killed_after_grace);
}

TEST(SuperviseSignals, Sigusr1IsForwardedWithoutStopping) {
  test::TempDir dir;
  ReadyFifo fifo(dir / "ready");
  SupervisorProcess sup(dir,
                        {python_spec(dir, "w0",
                                     "import signal, sys\n"
                                     "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})\n"
                                     "open(sys.argv[1], 'w').write('ready\\n')\n"
                                     "signal.sigwait({signal.SIGUSR1})\n"
                                     "sys.exit(0)\n",
                                     {fifo.path().string()})});
  ASSERT_TRUE(sup.wait_until_blocked());
  ASSERT_EQ(fifo.read_line(), "ready\n");
  sup.send(SIGUSR1);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].exit_code, 0);
  EXPECT_EQ(out.received_signal, 0);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_NE(out.log_text.find("info forwarding SIGUSR1 to w0"), std::string::npos) << out.log_text;
}

TEST(SuperviseSignals, GracefulExitOnSigtermKeepsZero) {
  test::TempDir dir;
  ReadyFifo fifo(dir / "ready");
  SupervisorProcess sup(dir,
                        {python_spec(dir, "w0",
                                     "import signal, sys\n"
                                     "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})\n"
                                     "open(sys.argv[1], 'w').write('ready\\n')\n"
                                     "signal.sigwait({signal.SIGTERM})\n"
                                     "sys.exit(0)\n",
                                     {fifo.path().string()})},
                        SuperviseOptions{std::chrono::seconds(30)});
  ASSERT_TRUE(sup.wait_until_blocked());
  ASSERT_EQ(fifo.read_line(), "ready\n");
  sup.send(SIGTERM);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].exit_code, 0);
  EXPECT_EQ(out.received_signal, SIGTERM);
  EXPECT_EQ(out.first_failure, -1);
  EXPECT_EQ(out.exit_code, 0);
}

}  // namespace
}  // namespace smrun::supervise::testing
