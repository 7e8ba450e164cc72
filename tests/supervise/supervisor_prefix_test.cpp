// Line-prefixed relay of many workers' stdout and stderr, per-worker log files, and a relay
// that keeps the loop alive when smrun's own stdout is not read.

#include <fcntl.h>
#include <gtest/gtest.h>

#include <sstream>

#include <array>

#include "supervise/harness.hpp"

namespace smrun::supervise::testing {
namespace {

constexpr int kWorkers = 4;
constexpr int kLines = 2000;

// Must match line() in kChattyWorker.
std::string expected_line(int worker, const std::string& stream, int n) {
  int size = (n * 37 + worker * 11) % 300;
  if (n % 97 == 0) size = 4096 + (n * 131 + worker) % 5000;
  return "w" + std::to_string(worker) + " " + stream + " " + std::to_string(n) + " " +
         std::string(static_cast<std::size_t>(size), static_cast<char>('a' + (n + worker) % 26));
}

// Writes kLines lines to stdout and to stderr, alternating writes of odd sizes so lines are cut
// anywhere, and ends stdout with a line without '\n'.
constexpr const char* kChattyWorker = R"(
import os, sys
i = int(sys.argv[1])
def line(stream, n):
    size = (n * 37 + i * 11) % 300
    if n % 97 == 0:
        size = 4096 + (n * 131 + i) % 5000
    return "w%d %s %d " % (i, stream, n) + chr(97 + (n + i) % 26) * size
out = "".join(line("out", n) + "\n" for n in range(2000)).encode() + b"w%d final" % i
err = "".join(line("err", n) + "\n" for n in range(2000)).encode()
po = pe = k = 0
while po < len(out) or pe < len(err):
    size = 1 + (k * 7919) % 9000
    k += 1
    if po < len(out):
        po += os.write(1, out[po:po + size])
    if pe < len(err):
        pe += os.write(2, err[pe:pe + size])
)";

// Checks that `text` consists of whole "[w:K] <line>\n" lines, each worker's lines in order and
// each exactly once.
void expect_prefixed(const std::string& text, const std::string& stream, bool with_final) {
  std::array<int, kWorkers> next{};
  std::array<bool, kWorkers> final_seen{};
  std::size_t pos = 0;
  std::size_t count = 0;
  while (pos < text.size()) {
    const std::size_t end = text.find('\n', pos);
    ASSERT_NE(end, std::string::npos) << "unterminated output at byte " << pos;
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++count;
    ASSERT_GE(line.size(), 6u) << line;
    ASSERT_EQ(line.substr(0, 3), "[w:") << line.substr(0, 80);
    const int k = line[3] - '0';
    ASSERT_TRUE(k >= 0 && k < kWorkers && line.substr(4, 2) == "] ") << line.substr(0, 80);
    const std::string body = line.substr(6);
    ASSERT_FALSE(final_seen[k]) << "line after the final one of w:" << k;
    if (next[k] == kLines && with_final) {
      ASSERT_EQ(body, "w" + std::to_string(k) + " final");
      final_seen[k] = true;
      continue;
    }
    ASSERT_LT(next[k], kLines) << "extra line of w:" << k << ": " << body.substr(0, 80);
    ASSERT_TRUE(body == expected_line(k, stream, next[k]))
        << "w:" << k << " line " << next[k] << " is " << body.substr(0, 80);
    ++next[k];
  }
  for (int k = 0; k < kWorkers; ++k) {
    EXPECT_EQ(next[k], kLines) << "w:" << k;
    EXPECT_EQ(final_seen[k], with_final) << "w:" << k;
  }
  EXPECT_EQ(count, static_cast<std::size_t>(kWorkers * (kLines + (with_final ? 1 : 0))));
}

TEST(SupervisePrefix, ConcurrentWorkersGiveWholePrefixedLinesInOrder) {
  test::TempDir dir;
  test::write_file(dir / "chatty.py", kChattyWorker);
  std::vector<ProcessSpec> specs;
  for (int k = 0; k < kWorkers; ++k)
    specs.push_back(make_spec("w:" + std::to_string(k),
                              {kPython, (dir / "chatty.py").string(), std::to_string(k)}));
  SuperviseOptions options;
  options.prefix_output = true;
  options.log_dir = dir / "logs" / "nested";
  SupervisorProcess sup(dir, specs, options);
  Outcome out = sup.wait(60s);
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  for (int k = 0; k < kWorkers; ++k) ASSERT_EQ(out.workers[k].exit_code, 0) << k;

  expect_prefixed(out.stdout_text, "out", true);
  expect_prefixed(out.relayed_stderr, "err", false);

  for (int k = 0; k < kWorkers; ++k) {
    std::size_t raw_size = 0;
    for (int n = 0; n < kLines; ++n)
      raw_size += expected_line(k, "out", n).size() + expected_line(k, "err", n).size() + 2;
    raw_size += ("w" + std::to_string(k) + " final").size();
    const fs::path log = dir / "logs" / "nested" / ("w-" + std::to_string(k) + ".log");
    ASSERT_TRUE(fs::exists(log)) << log;
    EXPECT_EQ(fs::file_size(log), raw_size) << log;
    // The tail is raw stderr, without prefixes.
    const std::string last_err = expected_line(k, "err", kLines - 1) + "\n";
    const std::string& tail = out.workers[k].stderr_tail;
    ASSERT_GE(tail.size(), last_err.size());
    EXPECT_EQ(tail.substr(tail.size() - last_err.size()), last_err);
  }
}

// A Python string literal for a path (test temp paths hold no quotes or backslashes).
std::string py_quote(const std::string& path) {
  return "'" + path + "'";
}

TEST(SupervisePrefix, TerminatorsFinalLineLogFilesAndTail) {
  test::TempDir dir;
  SuperviseOptions options;
  options.prefix_output = true;
  options.log_dir = dir / "logs";
  SupervisorProcess sup(
      dir,
      // Worker 1 fails only after worker 0 has written: otherwise the gang teardown its failure
      // triggers could kill worker 0 before its output exists, and there would be nothing to
      // check (the race made this test flaky under ASan).
      {python_spec(dir, "algo-1:0",
                   "import os\nos.write(1, b'one\\ntwo\\r\\nthree\\rfour')\n"
                   "open(" +
                       py_quote((dir / "w0-wrote").string()) + ", 'w').close()\n"),
       python_spec(dir, "algo-1:1",
                   "import os, sys, time\n"
                   "for _ in range(4000):\n"
                   "    if os.path.exists(" +
                       py_quote((dir / "w0-wrote").string()) +
                       "): break\n"
                       "    time.sleep(0.005)\n"
                       "os.write(2, b'Traceback\\nValueError: x\\n')\nsys.exit(2)\n")},
      options);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_EQ(out.stdout_text,
            "[algo-1:0] one\n[algo-1:0] two\r\n[algo-1:0] three\r[algo-1:0] four\n");
  EXPECT_EQ(out.relayed_stderr, "[algo-1:1] Traceback\n[algo-1:1] ValueError: x\n");
  EXPECT_EQ(test::read_file(dir / "logs" / "algo-1-0.log"), "one\ntwo\r\nthree\rfour");
  EXPECT_EQ(test::read_file(dir / "logs" / "algo-1-1.log"), "Traceback\nValueError: x\n");
  EXPECT_EQ(out.workers[1].stderr_tail, "Traceback\nValueError: x\n");
}

TEST(SupervisePrefix, LogDirWithoutPrefixRelaysRawAndLogs) {
  test::TempDir dir;
  SuperviseOptions options;
  options.log_dir = dir / "logs";
  const std::string payload("out\0\xff partial", 13);
  test::write_file(dir / "payload", payload);
  SupervisorProcess sup(dir,
                        {python_spec(dir, "w:0",
                                     "import os, sys\n"
                                     "os.write(1, open(sys.argv[1], 'rb').read())\n",
                                     {(dir / "payload").string()})},
                        options);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.stdout_text, payload);
  EXPECT_EQ(test::read_file(dir / "logs" / "w-0.log"), payload);
}

TEST(SupervisePrefix, UncreatableLogDirIsAnErrorBeforeAnythingStarts) {
  test::TempDir dir;
  test::write_file(dir / "file", "x");
  SuperviseOptions options;
  options.log_dir = dir / "file" / "logs";
  SupervisorProcess sup(dir, {make_spec("w0", {"/bin/true"})}, options);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished) << out.log_text;
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error.rfind(
                "log directory '" + (dir / "file" / "logs").string() + "': cannot create it: ", 0),
            0u)
      << out.error;
}

struct TestPipe {
  base::UniqueFd read_end;
  base::UniqueFd write_end;
  TestPipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
  }
};

// Reads fd until `text` ends with `suffix` or EOF; empty optional on timeout.
std::optional<std::string> read_until(int fd, const std::string& suffix,
                                      std::chrono::milliseconds timeout = 10s) {
  std::string text;
  const auto deadline = Clock::now() + timeout;
  while (suffix.empty() || text.size() < suffix.size() ||
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) != 0) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    char buf[65536];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n == 0) break;  // EOF
    if (n > 0) text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
}

TEST(SupervisePrefix, CarriageReturnProgressIsRelayedAtOnce) {
  test::TempDir dir;
  TestPipe out_pipe, in_pipe;
  SuperviseOptions options;
  options.prefix_output = true;
  Stdio stdio{in_pipe.read_end.get(),
              out_pipe.write_end.get(),
              {out_pipe.read_end.get(), in_pipe.write_end.get()}};
  SupervisorProcess sup(dir,
                        {python_spec(dir, "w:0",
                                     "import os\n"
                                     "os.write(1, b'10%\\r')\n"
                                     "os.read(0, 3)\n"  // the test's go-ahead
                                     "os.write(1, b'done\\n')\n")},
                        options, SupervisorProcess::Mode::kSubreaper, stdio);
  out_pipe.write_end.reset();
  in_pipe.read_end.reset();
  auto progress = read_until(out_pipe.read_end.get(), "\r");
  ASSERT_TRUE(progress.has_value());
  EXPECT_EQ(*progress, "[w:0] 10%\r");
  ASSERT_EQ(::write(in_pipe.write_end.get(), "go\n", 3), 3);
  auto rest = read_until(out_pipe.read_end.get(), "");  // to EOF
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(*rest, "[w:0] done\n");
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].exit_code, 0);
}

// A worker flooding its stdout or stderr (argv: fifo, fd, fill character, the capacity of the
// test's pipe behind smrun) with 4 KiB lines that nobody reads. It says "stalled N" after N
// lines: past the capacity of its own pipe and the test's pipe, plus 64 KiB, so smrun holds at
// least 64 KiB queued then and a blocking relay would be stuck in write().
constexpr const char* kFloodWorker = R"(
import fcntl, os, signal, sys, threading
fifo, fd, fill, sink = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), int(sys.argv[4])
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
out = open(fifo, "w", buffering=1)  # kept open: the test sees no EOF between lines
line = fill * 4095 + b"\n"
F_GETPIPE_SZ = 1032
stall = (fcntl.fcntl(fd, F_GETPIPE_SZ) + sink + 65536) // len(line) + 1
def writer():
    for n in range(stall + 256):
        if n == stall:
            out.write(f"stalled {stall}\n")
        os.write(fd, line)
threading.Thread(target=writer, daemon=True).start()
signal.sigwait({signal.SIGTERM})
out.write("term\n")
os._exit(7)
)";

// The test's end of smrun's stdout or stderr at the size smrun grows such a pipe to (1 MiB; kept
// as it is where the kernel refuses, as it then refuses smrun), as an argument for kFloodWorker.
std::string grown_capacity(int fd) {
  (void)::fcntl(fd, F_SETPIPE_SZ, 1 << 20);
  return std::to_string(::fcntl(fd, F_GETPIPE_SZ));
}

// The N of the flood worker's "stalled N" line; 0 for any other line.
std::size_t stalled_lines(const std::string& said) {
  if (said.rfind("stalled ", 0) != 0 || said.back() != '\n') return 0;
  return std::stoul(said.substr(8));
}

// smrun's stdout and stderr, when pipes (a container's are), are grown to 1 MiB by the relay.
TEST(SupervisePrefix, RelayGrowsItsStdoutAndStderrPipesTo1MiB) {
  test::TempDir dir;
  TestPipe out_pipe, err_pipe;
  for (const TestPipe* p : {&out_pipe, &err_pipe})
    ASSERT_EQ(::fcntl(p->write_end.get(), F_SETPIPE_SZ, 65536), 65536);
  SuperviseOptions options;
  options.prefix_output = true;
  Stdio stdio{-1, out_pipe.write_end.get(), {out_pipe.read_end.get(), err_pipe.read_end.get()}};
  stdio.err = err_pipe.write_end.get();
  SupervisorProcess sup(dir,
                        {python_spec(dir, "w:0",
                                     "import os\nos.write(1, b'out\\n')\n"
                                     "os.write(2, b'err\\n')\n")},
                        options, SupervisorProcess::Mode::kSubreaper, stdio);
  out_pipe.write_end.reset();
  err_pipe.write_end.reset();
  auto out_text = read_until(out_pipe.read_end.get(), "");  // to EOF
  ASSERT_TRUE(out_text.has_value());
  EXPECT_EQ(*out_text, "[w:0] out\n");
  auto err_text = read_until(err_pipe.read_end.get(), "");
  ASSERT_TRUE(err_text.has_value());
  EXPECT_NE(err_text->find("[w:0] err\n"), std::string::npos) << *err_text;
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(::fcntl(out_pipe.read_end.get(), F_GETPIPE_SZ), 1 << 20);
  EXPECT_EQ(::fcntl(err_pipe.read_end.get(), F_GETPIPE_SZ), 1 << 20);
}

TEST(SupervisePrefix, StalledStdoutDoesNotStopSignalForwarding) {
  test::TempDir dir;
  ReadyFifo fifo(dir / "fifo");
  TestPipe out_pipe;
  SuperviseOptions options;
  options.prefix_output = true;
  options.grace = std::chrono::seconds(30);
  Stdio stdio{-1, out_pipe.write_end.get(), {out_pipe.read_end.get()}};
  SupervisorProcess sup(
      dir,
      {python_spec(dir, "w:0", kFloodWorker,
                   {fifo.path().string(), "1", "x", grown_capacity(out_pipe.write_end.get())})},
      options, SupervisorProcess::Mode::kSubreaper, stdio);
  out_pipe.write_end.reset();
  ASSERT_TRUE(sup.wait_until_blocked());
  const std::size_t stalled = stalled_lines(fifo.read_line());
  ASSERT_GT(stalled, 0u);
  sup.send(SIGTERM);
  ASSERT_EQ(fifo.read_line(), "term\n");  // forwarded while smrun's stdout is not read

  auto text = read_until(out_pipe.read_end.get(), "", 30s);  // now let it drain, to EOF
  ASSERT_TRUE(text.has_value());
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].exit_code, 7);
  EXPECT_EQ(out.received_signal, SIGTERM);
  const std::string line = "[w:0] " + std::string(4095, 'x') + "\n";
  ASSERT_EQ(text->size() % line.size(), 0u);
  EXPECT_GE(text->size() / line.size(), stalled);
  for (std::size_t pos = 0; pos < text->size(); pos += line.size())
    ASSERT_TRUE(text->compare(pos, line.size(), line) == 0) << "at byte " << pos;
}

// The same flood on stderr, which smrun's own log lines share: the line smrun logs when SIGTERM
// arrives must not block PID 1 in write() (it queues behind the workers' output), and once the
// reader drains, every line arrives whole: a worker's line or one of smrun's, never a mix.

TEST(SupervisePrefix, SmrunsOwnLinesQueueBehindAStalledStderr) {
  test::TempDir dir;
  ReadyFifo fifo(dir / "fifo");
  TestPipe err_pipe;
  SuperviseOptions options;
  options.prefix_output = true;
  options.grace = std::chrono::seconds(30);
  Stdio stdio;
  stdio.err = err_pipe.write_end.get();
  stdio.close_in_child = {err_pipe.read_end.get()};
  SupervisorProcess sup(
      dir,
      {python_spec(dir, "w:0", kFloodWorker,
                   {fifo.path().string(), "2", "y", grown_capacity(err_pipe.write_end.get())})},
      options, SupervisorProcess::Mode::kSubreaper, stdio);
  err_pipe.write_end.reset();
  ASSERT_TRUE(sup.wait_until_blocked());
  const std::size_t stalled = stalled_lines(fifo.read_line());
  ASSERT_GT(stalled, 0u);
  sup.send(SIGTERM);
  // smrun logs "received SIGTERM ..." before forwarding it; a blocking log write would wait here
  // for a reader that never comes.
  ASSERT_EQ(fifo.read_line(), "term\n");

  auto text = read_until(err_pipe.read_end.get(), "", 30s);  // now drain it, to EOF
  ASSERT_TRUE(text.has_value());
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error;
  EXPECT_EQ(out.workers[0].exit_code, 7);
  const std::string worker_line = "[w:0] " + std::string(4095, 'y');
  std::size_t worker_lines = 0, smrun_lines = 0;
  bool saw_forwarding = false;
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    if (line == worker_line) {
      ++worker_lines;
      continue;
    }
    // "2026-12-05 08:00:00,123 smrun INFO     ...": one of smrun's own, whole.
    ASSERT_GE(line.size(), 30u) << line.substr(0, 200);
    ASSERT_EQ(line.substr(23, 7), " smrun ") << line.substr(0, 200);
    ++smrun_lines;
    if (line.find("SIGTERM") != std::string::npos) saw_forwarding = true;
  }
  EXPECT_GE(worker_lines, stalled);
  EXPECT_GE(smrun_lines, 2u);  // at least "started" and the SIGTERM line
  EXPECT_TRUE(saw_forwarding) << text->substr(text->size() > 4000 ? text->size() - 4000 : 0);
}

TEST(SupervisePrefix, OutputNobodyReadsIsDroppedAfterTheDrainWait) {
  test::TempDir dir;
  ReadyFifo fifo(dir / "fifo");
  TestPipe out_pipe;
  SuperviseOptions options;
  options.prefix_output = true;
  options.grace = std::chrono::seconds(30);
  Stdio stdio{-1, out_pipe.write_end.get(), {out_pipe.read_end.get()}};
  SupervisorProcess sup(
      dir,
      {python_spec(dir, "w:0", kFloodWorker,
                   {fifo.path().string(), "1", "x", grown_capacity(out_pipe.write_end.get())})},
      options, SupervisorProcess::Mode::kSubreaper, stdio);
  out_pipe.write_end.reset();
  ASSERT_TRUE(sup.wait_until_blocked());
  ASSERT_GT(stalled_lines(fifo.read_line()), 0u);
  sup.send(SIGTERM);
  ASSERT_EQ(fifo.read_line(), "term\n");
  const auto exited = Clock::now();
  Outcome out = sup.wait(20s);  // never reading out_pipe
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_GE(out.ended - exited, 4s);  // the 5 s drain wait, started when the worker was reaped
  EXPECT_LT(out.ended - exited, 15s);
  EXPECT_EQ(out.workers[0].exit_code, 7);
  EXPECT_NE(out.log_text.find("warning worker output still not relayed 5s after the last process "
                              "ended; dropping it\n"),
            std::string::npos)
      << out.log_text;
}

// SMRUN_LOG_RANKS: a hidden process's output reaches only its log file; the shown one's is
// relayed as usual.
TEST(SupervisePrefix, HiddenWorkersWriteOnlyToTheirLogFiles) {
  test::TempDir dir;
  std::vector<ProcessSpec> specs = {
      make_spec("w:0", {"/bin/sh", "-c", "echo shown-out; echo shown-err >&2"}),
      make_spec("w:1", {"/bin/sh", "-c", "echo hidden-out; echo hidden-err >&2"})};
  specs[1].console = false;
  SuperviseOptions options;
  options.prefix_output = true;
  options.log_dir = dir / "logs";
  SupervisorProcess sup(dir, specs, options);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.stdout_text, "[w:0] shown-out\n");
  EXPECT_EQ(out.relayed_stderr, "[w:0] shown-err\n");
  EXPECT_EQ(test::read_file(dir / "logs" / "w-1.log"), "hidden-out\nhidden-err\n");
}

// The root cause is never hidden: a hidden process that fails first has its last output shown,
// prefixed like any relayed line, after a line saying why.
TEST(SupervisePrefix, AHiddenWorkerThatFailsFirstHasItsTailShown) {
  test::TempDir dir;
  std::vector<ProcessSpec> specs = {
      make_spec("w:0", {"/bin/sh", "-c", "exec sleep 30"}),
      make_spec("w:1",
                {"/bin/sh", "-c", "echo hidden-out; echo 'ValueError: bad lr' >&2; exit 3"})};
  specs[1].console = false;
  SuperviseOptions options;
  options.prefix_output = true;
  SupervisorProcess sup(dir, specs, options);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.first_failure, 1);
  EXPECT_EQ(out.workers[1].exit_code, 3);
  EXPECT_EQ(out.stdout_text, "");
  EXPECT_EQ(out.relayed_stderr, "[w:1] ValueError: bad lr\n");
  EXPECT_NE(out.log_text.find("warning w:1 failed; its output is hidden by SMRUN_LOG_RANKS, so "
                              "its last lines follow\n"),
            std::string::npos)
      << out.log_text;
}

}  // namespace
}  // namespace smrun::supervise::testing
