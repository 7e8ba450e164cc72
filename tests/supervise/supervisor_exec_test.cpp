// Exec failures keep their shell meaning (127 not found, 126 cannot execute), PATH comes from
// the worker's environment.

#include <gtest/gtest.h>

#include "supervise/harness.hpp"

namespace smrun::supervise::testing {
namespace {

Outcome run_one(const test::TempDir& dir, ProcessSpec spec) {
  SupervisorProcess sup(dir, {std::move(spec)});
  return sup.wait();
}

TEST(SuperviseExec, MissingProgramIs127) {
  test::TempDir dir;
  Outcome out = run_one(dir, make_spec("w0", {"/nonexistent/prog", "--x"}));
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_TRUE(out.workers[0].exec_failed);
  EXPECT_EQ(out.workers[0].exit_code, 127);
  EXPECT_EQ(out.workers[0].signal, 0);
  EXPECT_EQ(out.workers[0].exec_error,
            "cannot execute '/nonexistent/prog': No such file or directory");
  EXPECT_EQ(out.first_failure, 0);
  EXPECT_EQ(out.exit_code, 127);
  EXPECT_TRUE(out.no_children_left);
  EXPECT_NE(out.log_text.find(
                "error w0: cannot execute '/nonexistent/prog': No such file or directory\n"),
            std::string::npos)
      << out.log_text;
}

TEST(SuperviseExec, ProgramNotOnTheWorkersPathIs127) {
  test::TempDir dir;
  ProcessSpec spec = make_spec("w0", {"smrun-no-such-program"});
  spec.env = {"PATH=" + (dir / "bin").string() + ":/usr/bin"};
  Outcome out = run_one(dir, spec);
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_TRUE(out.workers[0].exec_failed);
  EXPECT_EQ(out.workers[0].exit_code, 127);
  EXPECT_EQ(out.workers[0].exec_error,
            "cannot execute 'smrun-no-such-program': not found in PATH=" + (dir / "bin").string() +
                ":/usr/bin");
}

TEST(SuperviseExec, ProgramIsSearchedInTheWorkersPath) {
  test::TempDir dir;
  test::write_file(dir / "bin" / "smrun-test-hello", "#!/bin/sh\nexit 7\n", true);
  ProcessSpec spec = make_spec("w0", {"smrun-test-hello"});
  spec.env = {"PATH=/nonexistent:" + (dir / "bin").string()};
  Outcome out = run_one(dir, spec);
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_FALSE(out.workers[0].exec_failed);
  EXPECT_EQ(out.workers[0].exit_code, 7);
}

TEST(SuperviseExec, NonExecutableFileIs126) {
  test::TempDir dir;
  test::write_file(dir / "train.sh", "#!/bin/sh\nexit 0\n", false);
  Outcome out = run_one(dir, make_spec("w0", {(dir / "train.sh").string()}));
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_TRUE(out.workers[0].exec_failed);
  EXPECT_EQ(out.workers[0].exit_code, 126);
  EXPECT_EQ(out.workers[0].exec_error,
            "cannot execute '" + (dir / "train.sh").string() + "': Permission denied");
  EXPECT_EQ(out.exit_code, 126);
}

TEST(SuperviseExec, NonExecutableOnPathIs126) {
  test::TempDir dir;
  test::write_file(dir / "bin" / "smrun-test-noexec", "#!/bin/sh\nexit 0\n", false);
  ProcessSpec spec = make_spec("w0", {"smrun-test-noexec"});
  spec.env = {"PATH=" + (dir / "bin").string() + ":/usr/bin"};
  Outcome out = run_one(dir, spec);
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].exit_code, 126);
  EXPECT_EQ(out.workers[0].exec_error, "cannot execute 'smrun-test-noexec': Permission denied");
}

TEST(SuperviseExec, PathThroughAFileIs126) {
  test::TempDir dir;
  test::write_file(dir / "file", "x");
  Outcome out = run_one(dir, make_spec("w0", {(dir / "file" / "prog").string()}));
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].exit_code, 126);
  EXPECT_EQ(out.workers[0].exec_error,
            "cannot execute '" + (dir / "file" / "prog").string() + "': Not a directory");
}

TEST(SuperviseExec, UnknownFormatIs126) {
  test::TempDir dir;
  test::write_file(dir / "garbage", std::string("\x7f\x01\x02garbage\0\n", 12), true);
  Outcome out = run_one(dir, make_spec("w0", {(dir / "garbage").string()}));
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].exit_code, 126);
  EXPECT_EQ(out.workers[0].exec_error,
            "cannot execute '" + (dir / "garbage").string() + "': Exec format error");
}

TEST(SuperviseExec, MissingWorkingDirectoryIs126) {
  test::TempDir dir;
  ProcessSpec spec = make_spec("w0", {kPython, "-c", "pass"});
  spec.cwd = dir / "missing";
  Outcome out = run_one(dir, spec);
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_TRUE(out.workers[0].exec_failed);
  EXPECT_EQ(out.workers[0].exit_code, 126);
  EXPECT_EQ(out.workers[0].exec_error,
            "cannot change to directory '" + (dir / "missing").string() +
                "' to run '/usr/bin/python3': No such file or directory");
}

TEST(SuperviseExec, ExecFailureStopsTheOtherWorkers) {
  test::TempDir dir;
  SupervisorProcess sup(
      dir, {make_spec("w0", {"/bin/sleep", "1000"}), make_spec("w1", {"/nonexistent/prog"})},
      SuperviseOptions{std::chrono::seconds(30)});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_EQ(out.workers[0].signal, SIGTERM);
  EXPECT_EQ(out.workers[1].exit_code, 127);
  EXPECT_EQ(out.first_failure, 1);
  EXPECT_EQ(out.exit_code, 127);
}

TEST(SuperviseExec, EmptyArgvIsAnError) {
  test::TempDir dir;
  SupervisorProcess sup(dir, {make_spec("w0", {"/bin/true"}), make_spec("w1", {})});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished) << out.log_text;
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "worker 'w1' has an empty argv (nothing to execute)");
  EXPECT_TRUE(out.no_children_left);  // w0 was started and has been reaped
}

// Children exec while the next ones are forked (at most 32 waiting at once): with 70 workers the
// results, the exec failure and the "started" lines still follow the specs' order.
TEST(SuperviseExec, ManyWorkersStartInOrderAndAnExecFailureIsTheirOwn) {
  test::TempDir dir;
  std::vector<ProcessSpec> specs;
  for (int i = 0; i < 70; ++i)
    specs.push_back(i == 45 ? make_spec("w45", {"/nonexistent/prog"})
                            : make_spec("w" + std::to_string(i), {"/bin/sh", "-c", "exit 0"}));
  SupervisorProcess sup(dir, specs);
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  ASSERT_EQ(out.workers.size(), 70u);
  for (int i = 0; i < 70; ++i) EXPECT_EQ(out.workers[i].exec_failed, i == 45) << i;
  EXPECT_EQ(out.workers[45].exit_code, 127);
  EXPECT_EQ(out.first_failure, 45);
  std::size_t at = 0;
  for (int i = 0; i < 70; ++i) {
    const std::string line = i == 45 ? "error w45: cannot execute '/nonexistent/prog'"
                                     : "info started w" + std::to_string(i) + " (pid ";
    const std::size_t found = out.log_text.find(line, at);
    ASSERT_NE(found, std::string::npos) << "w" << i << " out of order in:\n" << out.log_text;
    at = found + line.size();
  }
  EXPECT_TRUE(out.no_children_left);
}

}  // namespace
}  // namespace smrun::supervise::testing
