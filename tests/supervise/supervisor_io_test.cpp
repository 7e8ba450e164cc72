// What reaches the worker (argv, env, cwd, stdout) and what comes back (stderr relay, tail).

#include <gtest/gtest.h>

#include "smrun/supervise/spawn.hpp"
#include "supervise/harness.hpp"

namespace smrun::supervise::testing {
namespace {

std::string pattern_bytes(std::size_t size) {
  std::string data(size, '\0');
  std::uint32_t x = 12345;
  for (auto& c : data) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return data;
}

TEST(SuperviseIo, StderrIsRelayedByteForByteAndTheTailIsTheLast64KiB) {
  test::TempDir dir;
  const std::string data = pattern_bytes(200 * 1024);
  test::write_file(dir / "data", data);
  SupervisorProcess sup(dir, {python_spec(dir, "w0",
                                          "import os, sys\n"
                                          "data = open(sys.argv[1], 'rb').read()\n"
                                          "while data:\n"
                                          "    n = os.write(2, data[:7000])\n"
                                          "    data = data[n:]\n"
                                          "sys.exit(1)\n",
                                          {(dir / "data").string()})});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].exit_code, 1);
  EXPECT_EQ(out.relayed_stderr.size(), data.size());
  EXPECT_TRUE(out.relayed_stderr == data);
  ASSERT_EQ(out.workers[0].stderr_tail.size(), 64u * 1024u);
  EXPECT_TRUE(out.workers[0].stderr_tail == data.substr(data.size() - 64 * 1024));
}

TEST(SuperviseIo, OutputPipeCapacityShrinksWithTheNumberOfWorkers) {
  EXPECT_EQ(output_pipe_capacity(0), 1u << 20);
  EXPECT_EQ(output_pipe_capacity(1), 1u << 20);
  EXPECT_EQ(output_pipe_capacity(8), 1u << 20);    // 16 pipes x 1 MiB = the 16 MiB budget
  EXPECT_EQ(output_pipe_capacity(9), 512u << 10);  // 18 x 1 MiB would pass it
  EXPECT_EQ(output_pipe_capacity(64), 128u << 10);
  EXPECT_EQ(output_pipe_capacity(65), 0u);  // 64 KiB each: the kernel's default
  EXPECT_EQ(output_pipe_capacity(256), 0u);
}

// What the worker sees on its own stdout and stderr: pipes of the capacity chosen above.
TEST(SuperviseIo, WorkersWriteIntoPipesOfTheChosenCapacity) {
  test::TempDir dir;
  SuperviseOptions options;
  options.prefix_output = true;  // stdout captured too
  const char* script =
      "import fcntl, sys\n"
      "F_GETPIPE_SZ = 1032\n"
      "print(fcntl.fcntl(1, F_GETPIPE_SZ), fcntl.fcntl(2, F_GETPIPE_SZ), file=sys.stderr)\n";
  std::vector<ProcessSpec> specs;
  for (int i = 0; i < 9; ++i) specs.push_back(python_spec(dir, "w" + std::to_string(i), script));
  SupervisorProcess sup(dir, specs, options);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  ASSERT_EQ(out.workers.size(), 9u);
  for (const auto& w : out.workers) EXPECT_EQ(w.stderr_tail, "524288 524288\n");
}

TEST(SuperviseIo, ShortStderrTailAndConfiguredSize) {
  test::TempDir dir;
  SuperviseOptions options;
  options.stderr_tail_bytes = 10;
  SupervisorProcess sup(dir,
                        {python_spec(dir, "w0",
                                     "import sys\n"
                                     "sys.stderr.write('Traceback: boom\\nValueError: bad\\n')\n"),
                         python_spec(dir, "w1", "import sys\nsys.stderr.write('hi')\n")},
                        options);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].stderr_tail, "rror: bad\n");
  EXPECT_EQ(out.workers[1].stderr_tail, "hi");
}

TEST(SuperviseIo, StdoutIsInheritedUnchanged) {
  test::TempDir dir;
  SupervisorProcess sup(dir, {python_spec(dir, "w0",
                                          "import os\n"
                                          "os.write(1, b'line one\\n\\x00\\xff\\r\\npartial')\n")});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.stdout_text, std::string("line one\n\0\xff\r\npartial", 20));
  EXPECT_EQ(out.relayed_stderr, "");
}

TEST(SuperviseIo, ArgvEnvAndCwdReachTheWorkerExactly) {
  test::TempDir dir;
  const std::vector<std::string> args = {
      "with space",  "it's \"quoted\"", "$HOME and `id` $(id)", "multi\nline\n", "",
      "ünïcødé ✓ 🚀", "back\\slash",     "--lr=0.1;rm -rf /",    "*?[a]",         "\xff\xfe"};
  const fs::path cwd = dir / "work dir";
  fs::create_directories(cwd);
  ProcessSpec spec = python_spec(dir, "w0",
                                 "import os\n"
                                 "open('cmdline', 'wb').write(open('/proc/self/cmdline', 'rb')"
                                 ".read())\n"
                                 "open('environ', 'wb').write(open('/proc/self/environ', 'rb')"
                                 ".read())\n",
                                 args);
  spec.cwd = cwd;
  spec.env = {"PATH=/usr/bin:/bin", "A=1=2", "MULTI=x\ny", "EMPTY=", "UNI=ü"};
  SupervisorProcess sup(dir, {spec});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  ASSERT_EQ(out.workers[0].exit_code, 0) << out.relayed_stderr;

  std::string expected_cmdline;
  for (const auto& a : spec.argv) expected_cmdline += a + '\0';
  EXPECT_EQ(test::read_file(cwd / "cmdline"), expected_cmdline);
  std::string expected_environ;
  for (const auto& e : spec.env) expected_environ += e + '\0';
  EXPECT_EQ(test::read_file(cwd / "environ"), expected_environ);
}

TEST(SuperviseIo, WorkerGetsDefaultSignalStateAndItsOwnProcessGroup) {
  test::TempDir dir;
  // grep is exec'd directly and changes no signal state: it shows exactly what it inherited,
  // although the supervisor blocks SIGTERM & co. and ignores SIGPIPE.
  ProcessSpec grep = make_spec("w0", {"/bin/grep", "-E", "^(SigBlk|SigIgn)", "/proc/self/status"});
  ProcessSpec group =
      python_spec(dir, "w1",
                  "import os, sys\n"
                  "open(sys.argv[1], 'w').write(str(os.getpgid(0) == os.getpid()))\n",
                  {(dir / "own_group").string()});
  SupervisorProcess sup(dir, {grep, group});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  ASSERT_EQ(out.workers[0].exit_code, 0) << out.relayed_stderr;
  ASSERT_EQ(out.workers[1].exit_code, 0) << out.relayed_stderr;
  EXPECT_EQ(out.stdout_text, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
  EXPECT_EQ(test::read_file(dir / "own_group"), "True");
}

TEST(SuperviseIo, WorkerInheritsOnlyStandardDescriptors) {
  test::TempDir dir;
  // ls opens /proc/self/fd itself as descriptor 3; the supervisor process has more open
  // descriptors (a log file, pipes, a deliberately leaked /dev/null) that must not show up.
  SupervisorProcess sup(dir, {make_spec("w0", {"/bin/ls", "-1", "/proc/self/fd"})});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  ASSERT_EQ(out.workers[0].exit_code, 0) << out.relayed_stderr;
  EXPECT_EQ(out.stdout_text, "0\n1\n2\n3\n");
}

}  // namespace
}  // namespace smrun::supervise::testing
