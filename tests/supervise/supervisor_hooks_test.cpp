// SupervisorHooks inside the supervisor loop: extra descriptors, ticks, failure and signal
// notifications, and the teardown a hook can ask for.

#include <gtest/gtest.h>

#include "supervise/harness.hpp"

namespace smrun::supervise::testing {
namespace {

// Runs inside the supervisor process (a fork of the test), so it reports by appending lines to
// a file the test reads afterwards.
class RecordingHooks : public SupervisorHooks {
 public:
  explicit RecordingHooks(fs::path events) : m_events(std::move(events)) {}

  int stop_fd = -1;  // readable: consume a byte, ask to stop
  std::chrono::milliseconds tick_every{std::chrono::hours(1)};
  int stop_after_ticks = -1;

  std::vector<pollfd> poll_fds() override {
    if (stop_fd < 0) return {};
    return {{stop_fd, POLLIN, 0}};
  }
  std::chrono::milliseconds next_timeout() override {
    if (!m_last_tick) m_last_tick = Clock::now();
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(*m_last_tick + tick_every - Clock::now());
    return std::max(left, std::chrono::milliseconds(0));
  }
  HookAction on_ready(int fd, short revents) override {
    char buf[16];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    record("ready " + std::to_string(revents & POLLIN) + " " +
           std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0));
    return {true, "peer algo-2 failed"};
  }
  HookAction on_tick() override {
    const auto now = Clock::now();
    const auto late = now - (*m_last_tick + tick_every);
    record("tick " +
           std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(late).count()));
    m_last_tick = now;
    if (++m_ticks == stop_after_ticks) return {true, "ticked enough"};
    return {};
  }
  void on_worker_failed(const WorkerResult& worker) override {
    record("worker_failed " + worker.label + " " + std::to_string(worker.exit.exit_code) +
           " pid=" + std::to_string(worker.pid) + " tail=" + worker.stderr_tail);
  }
  void on_stop_signal(int signo) override { record("stop_signal " + std::to_string(signo)); }

 private:
  void record(const std::string& line) {
    std::ofstream out(m_events, std::ios::app | std::ios::binary);
    out << line << "\n";
  }

  fs::path m_events;
  std::optional<Clock::time_point> m_last_tick;
  int m_ticks = 0;
};

std::string read_events(const test::TempDir& dir) {
  return fs::exists(dir / "events") ? test::read_file(dir / "events") : std::string();
}

// Writes "ready\n" to the FIFO in argv[1], then sleeps in read() on a pipe nobody writes to.
constexpr const char* kReadForever =
    "import os, sys\n"
    "r, w = os.pipe()\n"
    "open(sys.argv[1], 'w').write('ready\\n')\n"
    "os.read(r, 1)\n";

TEST(SuperviseHooks, ReadyFdAskingToStopTearsDownAllWorkersAtOnce) {
  test::TempDir dir;
  ReadyFifo ready0(dir / "ready0");
  ReadyFifo ready1(dir / "ready1");
  int stop_pipe[2];
  ASSERT_EQ(::pipe2(stop_pipe, O_CLOEXEC), 0);
  base::UniqueFd stop_read(stop_pipe[0]), stop_write(stop_pipe[1]);
  RecordingHooks hooks(dir / "events");
  hooks.stop_fd = stop_read.get();
  SuperviseOptions options;
  options.grace = std::chrono::seconds(30);
  options.hooks = &hooks;
  SupervisorProcess sup(dir,
                        {python_spec(dir, "w0", kReadForever, {ready0.path().string()}),
                         python_spec(dir, "w1", kReadForever, {ready1.path().string()})},
                        options);
  ASSERT_TRUE(sup.wait_until_blocked());
  ASSERT_EQ(ready0.read_line(), "ready\n");
  ASSERT_EQ(ready1.read_line(), "ready\n");
  const auto sent = Clock::now();
  ASSERT_EQ(::write(stop_write.get(), "x", 1), 1);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_LT(out.ended - sent, std::chrono::seconds(1));
  EXPECT_EQ(out.workers[0].signal, SIGTERM);
  EXPECT_EQ(out.workers[1].signal, SIGTERM);
  ASSERT_TRUE(out.stop_reason.has_value());
  EXPECT_EQ(*out.stop_reason, "peer algo-2 failed");
  EXPECT_TRUE(out.failure_after_stop);
  EXPECT_EQ(out.received_signal, 0);
  EXPECT_EQ(out.exit_code, 143);
  EXPECT_FALSE(out.killed_after_grace);
  EXPECT_TRUE(out.no_children_left);
  // The workers died of smrun's SIGTERM: no on_worker_failed for them.
  EXPECT_EQ(read_events(dir), "ready 1 x\n");
  EXPECT_NE(out.log_text.find("warning stopping all workers: peer algo-2 failed\n"),
            std::string::npos)
      << out.log_text;
}

TEST(SuperviseHooks, HookStopIsAFailureEvenWhenWorkersExitZero) {
  test::TempDir dir;
  ReadyFifo fifo(dir / "ready");
  int stop_pipe[2];
  ASSERT_EQ(::pipe2(stop_pipe, O_CLOEXEC), 0);
  base::UniqueFd stop_read(stop_pipe[0]), stop_write(stop_pipe[1]);
  RecordingHooks hooks(dir / "events");
  hooks.stop_fd = stop_read.get();
  SuperviseOptions options;
  options.grace = std::chrono::seconds(30);
  options.hooks = &hooks;
  SupervisorProcess sup(dir,
                        {python_spec(dir, "w0",
                                     "import signal, sys\n"
                                     "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})\n"
                                     "open(sys.argv[1], 'w').write('ready\\n')\n"
                                     "signal.sigwait({signal.SIGTERM})\n"
                                     "sys.exit(0)\n",
                                     {fifo.path().string()})},
                        options);
  ASSERT_TRUE(sup.wait_until_blocked());
  ASSERT_EQ(fifo.read_line(), "ready\n");
  ASSERT_EQ(::write(stop_write.get(), "y", 1), 1);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].exit_code, 0);
  EXPECT_EQ(out.first_failure, -1);
  EXPECT_EQ(out.stop_reason.value_or("<none>"), "peer algo-2 failed");
  EXPECT_FALSE(out.failure_after_stop);
  EXPECT_EQ(out.exit_code, 143);
}

TEST(SuperviseHooks, OnWorkerFailedIsCalledOnceForTheFirstFailure) {
  test::TempDir dir;
  RecordingHooks hooks(dir / "events");
  SuperviseOptions options;
  options.grace = std::chrono::seconds(30);
  options.hooks = &hooks;
  SupervisorProcess sup(dir,
                        {python_spec(dir, "w0",
                                     "import os, sys\n"
                                     "os.write(2, b'Traceback\\nboom\\n')\n"
                                     "sys.exit(3)\n"),
                         make_spec("w1", {"/bin/sleep", "1000"})},
                        options);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].exit_code, 3);
  EXPECT_EQ(out.workers[1].signal, SIGTERM);
  EXPECT_EQ(out.first_failure, 0);
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_FALSE(out.stop_reason.has_value());
  EXPECT_EQ(read_events(dir), "worker_failed w0 3 pid=" + std::to_string(out.workers[0].pid) +
                                  " tail=Traceback\nboom\n\n");
}

TEST(SuperviseHooks, OnStopSignalIsCalledOnceWithTheFirstStopSignal) {
  test::TempDir dir;
  ReadyFifo fifo(dir / "ready");
  RecordingHooks hooks(dir / "events");
  SuperviseOptions options;
  options.grace = std::chrono::seconds(30);
  options.hooks = &hooks;
  SupervisorProcess sup(
      dir,
      {python_spec(
          dir, "w0",
          "import signal, sys\n"
          "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})\n"
          "fifo = open(sys.argv[1], 'w', buffering=1)\n"  // kept open: no EOF between lines
          "fifo.write('ready\\n')\n"
          "signal.sigwait({signal.SIGTERM})\n"
          "fifo.write('term\\n')\n"
          "signal.sigwait({signal.SIGINT})\n"
          "sys.exit(0)\n",
          {fifo.path().string()})},
      options);
  ASSERT_TRUE(sup.wait_until_blocked());
  ASSERT_EQ(fifo.read_line(), "ready\n");
  sup.send(SIGTERM);
  ASSERT_EQ(fifo.read_line(), "term\n");  // forwarded, so the supervisor has handled it
  sup.send(SIGINT);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].exit_code, 0);
  EXPECT_EQ(out.received_signal, SIGTERM);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(read_events(dir), "stop_signal 15\n");
}

TEST(SuperviseHooks, OnTickIsCalledWhenDueAndCanStop) {
  test::TempDir dir;
  RecordingHooks hooks(dir / "events");
  hooks.tick_every = std::chrono::milliseconds(100);
  hooks.stop_after_ticks = 5;
  SuperviseOptions options;
  options.grace = std::chrono::seconds(30);
  options.hooks = &hooks;
  const auto started = Clock::now();
  SupervisorProcess sup(dir, {make_spec("w0", {"/bin/sleep", "1000"})}, options);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_GE(out.ended - started, std::chrono::milliseconds(500));
  EXPECT_EQ(out.stop_reason.value_or("<none>"), "ticked enough");
  EXPECT_EQ(out.workers[0].signal, SIGTERM);
  EXPECT_EQ(out.exit_code, 143);

  std::istringstream events(read_events(dir));
  std::string word;
  long late_us = 0;
  int ticks = 0;
  while (events >> word >> late_us) {
    ASSERT_EQ(word, "tick");
    ++ticks;
    EXPECT_GE(late_us, 0) << "tick " << ticks << " came early";
    // Due times come from poll()'s timeout, not from a polling interval: only scheduling
    // delay (a loaded 2-core machine, sanitizers) makes a tick late.
    EXPECT_LT(late_us, 100'000) << "tick " << ticks << " came late";
  }
  EXPECT_EQ(ticks, 5);
}

}  // namespace
}  // namespace smrun::supervise::testing
