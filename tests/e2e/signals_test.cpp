// Signals and process supervision: death by signal, SIGTERM forwarding to the whole process
// group, the SIGKILL grace period, and orphaned grandchildren.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

using Clock = std::chrono::steady_clock;

// Parent installs a handler for $E2E_SIGNAL, starts a child in its process group that records
// the signal too, then announces "ready" once both handlers are in place.
constexpr const char* kForwardingScript = R"PY(import os, signal, subprocess, sys, time
scratch = os.environ["E2E_SCRATCH"]
SIG = signal.Signals[os.environ["E2E_SIGNAL"]]
CHILD = r'''
import os, signal, sys, time
scratch = sys.argv[1]
def on_term(signo, frame):
    with open(os.path.join(scratch, "child_term"), "w") as f:
        f.write(signal.Signals(signo).name)
    os._exit(0)
signal.signal(signal.Signals[os.environ["E2E_SIGNAL"]], on_term)
open(os.path.join(scratch, "child_ready"), "w").close()
while True:
    time.sleep(1)
'''
child = subprocess.Popen([sys.executable, "-c", CHILD, scratch])
def on_term(signo, frame):
    with open(os.path.join(scratch, "parent_term"), "w") as f:
        f.write(signal.Signals(signo).name)
    child.wait(timeout=30)
    sys.exit(int(os.environ.get("E2E_HANDLER_EXIT", "0")))
signal.signal(SIG, on_term)
while not os.path.exists(os.path.join(scratch, "child_ready")):
    time.sleep(0.01)
open(os.path.join(scratch, "ready"), "w").close()
while True:
    time.sleep(1)
)PY";

constexpr const char* kIgnoreTermScript = R"PY(import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(os.path.join(os.environ["E2E_SCRATCH"], "ready"), "w").close()
while True:
    time.sleep(1)
)PY";

constexpr const char* kDefaultTermScript = R"PY(import os, time
open(os.path.join(os.environ["E2E_SCRATCH"], "ready"), "w").close()
while True:
    time.sleep(1)
)PY";

// Double fork: the intermediate child starts a grandchild (marker in its argv) and exits at
// once, so the grandchild is orphaned; the script waits until it runs, then exits 0.
constexpr const char* kOrphanScript = R"PY(import os, subprocess, sys, time
scratch = os.environ["E2E_SCRATCH"]
marker = os.environ["E2E_MARKER"]
GRAND = r'''
import os, sys, time
scratch = sys.argv[1]
tmp = os.path.join(scratch, "grandchild_pid.tmp")
with open(tmp, "w") as f:
    f.write(str(os.getpid()))
os.rename(tmp, os.path.join(scratch, "grandchild_pid"))
time.sleep(1.5)
'''
pid = os.fork()
if pid == 0:
    subprocess.Popen([sys.executable, "-c", GRAND, scratch, marker])
    os._exit(0)
os.waitpid(pid, 0)
deadline = time.time() + 30
while not os.path.exists(os.path.join(scratch, "grandchild_pid")) and time.time() < deadline:
    time.sleep(0.01)
sys.exit(0)
)PY";

class SignalTest : public ::testing::Test {
 protected:
  void SetUp() override { job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}}); }
  std::unique_ptr<BackgroundProcess> start(const Env& extra = {}) {
    return std::make_unique<BackgroundProcess>(
        std::vector<std::string>{smrun_binary().string(), "train"}, job.environment(extra),
        job.scratch() / "smrun.out", job.scratch() / "smrun.err");
  }
  std::string read_or(const fs::path& p, const std::string& fallback) const {
    return fs::exists(p) ? read_file(p) : fallback;
  }
  JobDir job;
};

TEST_F(SignalTest, SelfSigkillIsReportedAsLikelyOom) {
  job.write_code_file("train.py", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n");
  ProcessResult r = job.run_train();
  EXPECT_EQ(r.exit_code, 137) << r.err;
  ASSERT_TRUE(fs::exists(job.failure_file()));
  const std::string failure = read_file(job.failure_file());
  EXPECT_NE(first_line(failure).find("SIGKILL"), std::string::npos) << failure;
  EXPECT_NE(failure.find("out of memory"), std::string::npos) << failure;
  EXPECT_EQ(first_line(failure).rfind("ExecuteUserScriptError: train.py was killed by SIGKILL", 0),
            0u)
      << failure;
}

TEST_F(SignalTest, OtherFatalSignalIs128PlusSignal) {
  job.write_code_file("train.py",
                      "import os, resource, signal\n"
                      "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file\n"
                      "os.kill(os.getpid(), signal.SIGSEGV)\n");
  ProcessResult r = job.run_train();
  EXPECT_EQ(r.exit_code, 139) << r.err;
  ASSERT_TRUE(fs::exists(job.failure_file()));
  EXPECT_NE(first_line(read_file(job.failure_file())).find("SIGSEGV (signal 11)"),
            std::string::npos)
      << read_file(job.failure_file());
}

class ForwardingTest : public SignalTest, public ::testing::WithParamInterface<int> {};

TEST_P(ForwardingTest, SignalIsForwardedToTheWholeProcessGroup) {
  const int signo = GetParam();
  const std::string name = std::string("SIG") + sigabbrev_np(signo);
  job.write_code_file("train.py", kForwardingScript);
  auto smrun = start({{"E2E_SIGNAL", name}});
  ASSERT_TRUE(wait_for_file(job.scratch() / "ready", 60s))
      << "script never got ready\n"
      << read_or(job.scratch() / "smrun.err", "");
  ASSERT_EQ(kill(smrun->pid(), signo), 0);
  auto result = smrun->wait_for(60s);
  ASSERT_TRUE(result.has_value()) << "smrun did not exit after " << name;
  EXPECT_EQ(read_or(job.scratch() / "parent_term", "<none>"), name);
  EXPECT_EQ(read_or(job.scratch() / "child_term", "<none>"), name);
  // The program handled the signal and exited 0: that is the job's verdict.
  EXPECT_EQ(result->exit_code, 0) << result->err;
  EXPECT_EQ(result->term_signal, 0);
}

INSTANTIATE_TEST_SUITE_P(E2e, ForwardingTest,
                         ::testing::Values(SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string("SIG") + sigabbrev_np(info.param);
                         });

TEST_F(SignalTest, ExitCodeChosenAfterSigtermIsTheVerdict) {
  // The program handles SIGTERM (e.g. checkpoints) and exits 3: smrun reports the program's own
  // code, like any other exit (docs/compatibility.md "Exit code").
  job.write_code_file("train.py", kForwardingScript);
  auto smrun = start({{"E2E_SIGNAL", "SIGTERM"}, {"E2E_HANDLER_EXIT", "3"}});
  ASSERT_TRUE(wait_for_file(job.scratch() / "ready", 60s))
      << read_or(job.scratch() / "smrun.err", "");
  ASSERT_EQ(kill(smrun->pid(), SIGTERM), 0);
  auto result = smrun->wait_for(60s);
  ASSERT_TRUE(result.has_value()) << "smrun did not exit after SIGTERM";
  EXPECT_EQ(read_or(job.scratch() / "parent_term", "<none>"), "SIGTERM");
  EXPECT_EQ(result->exit_code, 3) << result->err;
  ASSERT_TRUE(fs::exists(job.failure_file()));
  EXPECT_EQ(first_line(read_file(job.failure_file())),
            "ExecuteUserScriptError: train.py exited with code 3 on algo-1 after smrun received "
            "SIGTERM and forwarded it");
}

TEST_F(SignalTest, UnhandledSigtermExits143AndSaysWhy) {
  job.write_code_file("train.py", kDefaultTermScript);
  auto smrun = start();
  ASSERT_TRUE(wait_for_file(job.scratch() / "ready", 60s))
      << read_or(job.scratch() / "smrun.err", "");
  ASSERT_EQ(kill(smrun->pid(), SIGTERM), 0);
  auto result = smrun->wait_for(60s);
  ASSERT_TRUE(result.has_value()) << "smrun did not exit after SIGTERM";
  EXPECT_EQ(result->exit_code, 143) << result->err;
  ASSERT_TRUE(fs::exists(job.failure_file()));
  const std::string headline = first_line(read_file(job.failure_file()));
  EXPECT_NE(headline.find("SIGTERM"), std::string::npos) << headline;
  EXPECT_NE(headline.find("smrun received SIGTERM"), std::string::npos) << headline;
}

TEST_F(SignalTest, IgnoredSigtermIsFollowedBySigkillAfterGrace) {
  job.write_code_file("train.py", kIgnoreTermScript);
  auto smrun = start({{"SMRUN_TERM_GRACE_SECONDS", "1"}});
  ASSERT_TRUE(wait_for_file(job.scratch() / "ready", 60s))
      << read_or(job.scratch() / "smrun.err", "");
  const auto sent = Clock::now();
  ASSERT_EQ(kill(smrun->pid(), SIGTERM), 0);
  auto result = smrun->wait_for(30s);
  ASSERT_TRUE(result.has_value()) << "smrun did not exit within 30 s of SIGTERM";
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - sent);
  EXPECT_GE(elapsed.count(), 900) << "SIGKILL came before the grace period ended";
  EXPECT_LE(elapsed.count(), 6000) << "SIGKILL came long after the 1 s grace period";
  EXPECT_EQ(result->exit_code, 137) << result->err;
  ASSERT_TRUE(fs::exists(job.failure_file()));
  EXPECT_NE(read_file(job.failure_file()).find("did not exit within the 1s grace period"),
            std::string::npos)
      << read_file(job.failure_file());
}

TEST_F(SignalTest, OrphanedGrandchildDoesNotOutliveSmrun) {
  std::random_device rd;
  const std::string marker =
      "smrun-e2e-orphan-" + std::to_string(getpid()) + "-" + std::to_string(rd());
  job.write_code_file("train.py", kOrphanScript);
  ProcessResult r = job.run_train({{"E2E_MARKER", marker}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(job.scratch() / "grandchild_pid")) << "the grandchild never started";
  EXPECT_EQ(processes_with_marker(marker), std::vector<pid_t>{})
      << "a grandchild is still running after smrun exited";
  EXPECT_TRUE(fs::exists(job.success_file()));
}

TEST_F(SignalTest, DaemonHoldingStderrDoesNotHangSmrun) {
  // A child that leaves its process group (new session) but keeps the stderr pipe open: smrun
  // must neither wait for it forever nor leave it behind.
  std::random_device rd;
  const std::string marker =
      "smrun-e2e-daemon-" + std::to_string(getpid()) + "-" + std::to_string(rd());
  job.write_code_file("train.py",
                      "import os, subprocess, sys\n"
                      "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)',\n"
                      "                  os.environ['E2E_MARKER']], start_new_session=True)\n"
                      "print('daemon started', file=sys.stderr, flush=True)\n");
  const auto started = Clock::now();
  ProcessResult r = job.run_train({{"E2E_MARKER", marker}}, 50s);
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(elapsed.count(), 20000) << "smrun waited for the daemon";
  EXPECT_EQ(processes_with_marker(marker), std::vector<pid_t>{})
      << "the daemon is still running after smrun exited";
}

}  // namespace
}  // namespace smrun::test::e2e
