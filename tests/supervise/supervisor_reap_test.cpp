// Orphan reaping and cleanup of leftover processes, with real worker processes.

#include <gtest/gtest.h>

#include "supervise/harness.hpp"
#include "supervise/worker_scripts.hpp"

namespace smrun::supervise::testing {
namespace {

TEST(SuperviseReaping, OrphansAreReapedWhileWorkersRun) {
  test::TempDir dir;
  SupervisorProcess sup(dir, {python_spec(dir, "w0", kReapedWhileRunning)});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].exit_code, 0);
  EXPECT_TRUE(out.no_children_left);
  EXPECT_NE(out.log_text.find("debug reaped orphan process "), std::string::npos) << out.log_text;
}

// The grandchild (own session, ignores SIGTERM) outlives the worker: it waits for the worker to
// exit (EOF on a pipe only the worker holds), then writes a marker and exits by itself.
constexpr const char* kOrphanOutlivesWorker = R"(
import os, signal, sys
marker = sys.argv[1]
r, w = os.pipe()
middle = os.fork()
if middle == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.close(w)
        os.read(r, 1)
        with open(marker, "w") as f:
            f.write("done")
        os._exit(0)
    os._exit(0)
os.close(r)
os.waitpid(middle, 0)
sys.exit(0)
)";

TEST(SuperviseReaping, OrphanThatOutlivesTheWorkersIsWaitedForAndReaped) {
  test::TempDir dir;
  SupervisorProcess sup(
      dir, {python_spec(dir, "w0", kOrphanOutlivesWorker, {(dir / "marker").string()})},
      SuperviseOptions{std::chrono::seconds(30)});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].exit_code, 0);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(test::read_file(dir / "marker"), "done");
  EXPECT_TRUE(out.no_children_left);
  EXPECT_FALSE(out.killed_after_grace);
}

TEST(SuperviseReaping, LeftoverInTheWorkerGroupIsTerminatedWhenTheLeaderExits) {
  test::TempDir dir;
  const fs::path script = dir / "w0.sh";
  test::write_file(script,
                   "#!/bin/sh\n"
                   "/bin/sleep 1000 &\n"
                   "echo $! > \"$1\"\n"
                   "exit 0\n",
                   true);
  const auto started = Clock::now();
  SupervisorProcess sup(dir, {make_spec("w0", {script.string(), (dir / "bgpid").string()})},
                        SuperviseOptions{std::chrono::seconds(30)});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].exit_code, 0);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_TRUE(out.no_children_left);
  EXPECT_FALSE(out.killed_after_grace);
  EXPECT_LT(out.ended - started, std::chrono::seconds(10));  // SIGTERM, not the 30 s grace
  EXPECT_NE(out.log_text.find("info sending SIGTERM to w0 (pgid " +
                              std::to_string(out.workers[0].pid) + "): its leader exited\n"),
            std::string::npos)
      << out.log_text;
  const std::string bgpid = test::read_file(dir / "bgpid");
  ASSERT_FALSE(bgpid.empty());
  EXPECT_FALSE(fs::exists("/proc/" + bgpid.substr(0, bgpid.size() - 1)));
}

TEST(SuperviseReaping, LeftoverOutsideWorkerGroupsIsKilledAfterTheGrace) {
  test::TempDir dir;
  // The grandchild has its own session and ignores SIGTERM: only SIGKILL ends it.
  SupervisorProcess sup(dir,
                        {python_spec(dir, "w0",
                                     "import os, signal, sys\n"
                                     "r, w = os.pipe()\n"
                                     "if os.fork() == 0:\n"
                                     "    os.setsid()\n"
                                     "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                                     "    open(sys.argv[1], 'w').write(str(os.getpid()))\n"
                                     "    os.write(w, b'x')\n"
                                     "    never, _ = os.pipe()\n"
                                     "    os.read(never, 1)\n"
                                     "    os._exit(7)\n"
                                     "os.read(r, 1)\n"
                                     "sys.exit(0)\n",
                                     {(dir / "gcpid").string()})},
                        SuperviseOptions{std::chrono::seconds(1)});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].exit_code, 0);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_TRUE(out.no_children_left);
  EXPECT_TRUE(out.killed_after_grace);
  const std::string gcpid = test::read_file(dir / "gcpid");
  EXPECT_NE(out.log_text.find("info all workers are done; sending SIGTERM to leftover process " +
                              gcpid + "\n"),
            std::string::npos)
      << out.log_text;
  EXPECT_NE(out.log_text.find("warning sending SIGKILL to leftover process " + gcpid + "\n"),
            std::string::npos)
      << out.log_text;
}

}  // namespace
}  // namespace smrun::supervise::testing
