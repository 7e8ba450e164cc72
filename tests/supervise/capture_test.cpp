// run_and_capture: a tool's stdout through the one spawner, bounded in time.

#include "smrun/supervise/capture.hpp"

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace smrun::supervise {
namespace {

ProcessSpec sh(const std::string& script) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script};  // fixed test scripts
  spec.env = {"PATH=/usr/bin:/bin"};
  spec.label = "tool";
  return spec;
}

TEST(Capture, StdoutAndExitCode) {
  auto r = run_and_capture(sh("echo GPU 0; echo noise >&2; echo GPU 1; exit 3"),
                           std::chrono::seconds(30));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->out, "GPU 0\nGPU 1\n");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
}

TEST(Capture, LargeStderrDoesNotBlockTheTool) {
  auto r =
      run_and_capture(sh("head -c 1000000 /dev/zero >&2; echo done"), std::chrono::seconds(30));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->out, "done\n");
  EXPECT_EQ(r->exit_code, 0);
}

TEST(Capture, TimeLimitKillsTheWholeGroup) {
  test::TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  // A child of the tool keeps the pipe open too: the group is killed, not only the tool.
  auto r =
      run_and_capture(sh("echo partial; sleep 600 & sleep 600"), std::chrono::milliseconds(300));
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, 128 + 9);
  EXPECT_EQ(r->out, "partial\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST(Capture, MissingToolIs127) {
  ProcessSpec spec;
  spec.argv = {"/nonexistent/nvidia-smi"};
  spec.label = "tool";
  auto r = run_and_capture(spec, std::chrono::seconds(30));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->exit_code, 127);
  EXPECT_EQ(r->out, "");
}

}  // namespace
}  // namespace smrun::supervise
