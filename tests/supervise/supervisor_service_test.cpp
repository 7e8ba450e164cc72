// Service processes (ProcessSpec::service, e.g. the SSH daemon of an MPI host): they live as long
// as the job's own processes, or, on a host with only services, until a hook says the job
// finished; that stop is not a failure, ending early is.

#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "supervise/harness.hpp"

namespace smrun::supervise::testing {
namespace {

// Reading a byte from `fd` yields the configured action (finish or stop).
class PipeHooks : public SupervisorHooks {
 public:
  PipeHooks(int fd, HookAction action) : m_fd(fd), m_action(std::move(action)) {}
  std::vector<pollfd> poll_fds() override { return {{m_fd, POLLIN, 0}}; }
  std::chrono::milliseconds next_timeout() override { return std::chrono::hours(1); }
  HookAction on_ready(int fd, short) override {
    char c;
    (void)::read(fd, &c, 1);
    return m_action;
  }
  HookAction on_tick() override { return {}; }
  void on_worker_failed(const WorkerResult&) override {}
  void on_stop_signal(int) override {}

 private:
  int m_fd;
  HookAction m_action;
};

// A daemon: reports ready on the FIFO in argv[1], then waits for SIGTERM and exits 0 on it.
constexpr const char* kDaemon =
    "import signal, sys\n"
    "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})\n"
    "open(sys.argv[1], 'w').write('ready\\n')\n"
    "signal.sigwait({signal.SIGTERM})\n"
    "sys.exit(0)\n";

ProcessSpec service_spec(const test::TempDir& dir, const std::string& label, const fs::path& fifo,
                         const char* code = kDaemon) {
  ProcessSpec spec = python_spec(dir, label, code, {fifo.string()});
  spec.service = true;
  return spec;
}

struct Pipe {
  base::UniqueFd read, write;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read = base::UniqueFd(fds[0]);
    write = base::UniqueFd(fds[1]);
  }
};

TEST(SuperviseService, StoppedWithoutFailureWhenTheWorkEnds) {
  test::TempDir dir;
  ReadyFifo daemon_ready(dir / "daemon_ready");
  const fs::path go = dir / "go";
  ASSERT_EQ(::mkfifo(go.c_str(), 0600), 0);
  SuperviseOptions options;
  options.grace = std::chrono::seconds(30);
  // The worker ends only when the test says so, after it saw the daemon up.
  SupervisorProcess sup(
      dir,
      {service_spec(dir, "sshd", daemon_ready.path()),
       python_spec(dir, "mpirun", "import sys\nopen(sys.argv[1]).readline()\n", {go.string()})},
      options);
  ASSERT_EQ(daemon_ready.read_line(), "ready\n");
  {
    std::ofstream(go) << "go\n";  // blocks until the worker opened its end
  }
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].exit_code, 0);  // its SIGTERM handler exits 0
  EXPECT_EQ(out.workers[1].exit_code, 0);
  EXPECT_EQ(out.first_failure, -1);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_FALSE(out.stop_reason.has_value());
  EXPECT_NE(out.log_text.find("sending SIGTERM to sshd"), std::string::npos) << out.log_text;
  EXPECT_NE(out.log_text.find("the job's processes ended"), std::string::npos) << out.log_text;
}

TEST(SuperviseService, KilledBySignalWhenStoppedIsStillNoFailure) {
  test::TempDir dir;
  ReadyFifo daemon_ready(dir / "daemon_ready");
  const fs::path go = dir / "go";
  ASSERT_EQ(::mkfifo(go.c_str(), 0600), 0);
  SuperviseOptions options;
  options.grace = std::chrono::seconds(30);
  // Default SIGTERM disposition: the daemon dies of the signal, as sshd does. The worker ends
  // only after the test saw the daemon up: were it to end at once, the supervisor could stop the
  // daemon before it wrote "ready" (a race a busy CI machine lost once).
  SupervisorProcess sup(
      dir,
      {service_spec(
           dir, "sshd", daemon_ready.path(),
           "import sys, time\nopen(sys.argv[1], 'w').write('ready\\n')\ntime.sleep(600)\n"),
       python_spec(dir, "mpirun", "import sys\nopen(sys.argv[1]).readline()\n", {go.string()})},
      options);
  ASSERT_EQ(daemon_ready.read_line(), "ready\n");
  {
    std::ofstream(go) << "go\n";  // blocks until the worker opened its end
  }
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].signal, SIGTERM);
  EXPECT_EQ(out.first_failure, -1);
  EXPECT_EQ(out.exit_code, 0);
}

TEST(SuperviseService, EndingEarlyWithAnErrorFailsTheRun) {
  test::TempDir dir;
  SuperviseOptions options;
  options.grace = std::chrono::seconds(30);
  ProcessSpec broken = python_spec(dir, "sshd", "import sys\nsys.exit(255)\n");
  broken.service = true;
  // The worker would run forever: the failed service must tear it down.
  SupervisorProcess sup(
      dir, {python_spec(dir, "mpirun", "import os\nr, w = os.pipe()\nos.read(r, 1)\n"), broken},
      options);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.first_failure, 1);
  EXPECT_EQ(out.workers[1].exit_code, 255);
  EXPECT_EQ(out.workers[0].signal, SIGTERM);
  EXPECT_EQ(out.exit_code, 255);
}

TEST(SuperviseService, OnlyServicesWaitForTheHookToFinish) {
  test::TempDir dir;
  ReadyFifo daemon_ready(dir / "daemon_ready");
  Pipe pipe;
  PipeHooks hooks(pipe.read.get(), HookAction{false, "", true});
  SuperviseOptions options;
  options.grace = std::chrono::seconds(30);
  options.hooks = &hooks;
  SupervisorProcess sup(dir, {service_spec(dir, "sshd", daemon_ready.path())}, options);
  ASSERT_EQ(daemon_ready.read_line(), "ready\n");
  ASSERT_TRUE(sup.wait_until_blocked());
  const auto sent = Clock::now();
  ASSERT_EQ(::write(pipe.write.get(), "f", 1), 1);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_GE(out.ended, sent);
  EXPECT_EQ(out.workers[0].exit_code, 0);
  EXPECT_EQ(out.first_failure, -1);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_FALSE(out.stop_reason.has_value());
  EXPECT_NE(out.log_text.find("the job finished"), std::string::npos) << out.log_text;
}

TEST(SuperviseService, NothingToRunWaitsForTheHook) {
  test::TempDir dir;
  Pipe pipe;
  PipeHooks hooks(pipe.read.get(), HookAction{false, "", true});
  SuperviseOptions options;
  options.hooks = &hooks;
  SupervisorProcess sup(dir, {}, options);
  ASSERT_TRUE(sup.wait_until_blocked());
  const auto sent = Clock::now();
  ASSERT_EQ(::write(pipe.write.get(), "f", 1), 1);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_GE(out.ended, sent);
  EXPECT_TRUE(out.workers.empty());
  EXPECT_EQ(out.exit_code, 0);
}

TEST(SuperviseService, NothingToRunEndsOnAStopSignal) {
  test::TempDir dir;
  Pipe pipe;
  PipeHooks hooks(pipe.read.get(), HookAction{false, "", true});
  SuperviseOptions options;
  options.hooks = &hooks;
  SupervisorProcess sup(dir, {}, options);
  ASSERT_TRUE(sup.wait_until_blocked());
  sup.send(SIGTERM);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.received_signal, SIGTERM);
  EXPECT_EQ(out.exit_code, 0);
}

TEST(SuperviseService, HookStopTearsServicesDownAsAFailure) {
  test::TempDir dir;
  ReadyFifo daemon_ready(dir / "daemon_ready");
  Pipe pipe;
  PipeHooks hooks(pipe.read.get(), HookAction{true, "algo-1 failed", false});
  SuperviseOptions options;
  options.grace = std::chrono::seconds(30);
  options.hooks = &hooks;
  SupervisorProcess sup(dir, {service_spec(dir, "sshd", daemon_ready.path())}, options);
  ASSERT_EQ(daemon_ready.read_line(), "ready\n");
  ASSERT_EQ(::write(pipe.write.get(), "s", 1), 1);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.stop_reason.value_or("<none>"), "algo-1 failed");
  EXPECT_EQ(out.exit_code, 143);
}

}  // namespace
}  // namespace smrun::supervise::testing
