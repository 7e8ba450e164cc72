#include "smrun/supervise/children.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smrun/supervise/supervisor.hpp"

namespace smrun::supervise {
namespace {

TEST(ListChildren, FindsALiveChildAndNotOurselves) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[1]);
    char byte;
    ssize_t unused = read(fds[0], &byte, 1);  // until the parent closes the pipe
    (void)unused;
    _exit(0);
  }
  close(fds[0]);
  std::vector<pid_t> children = list_children();
  close(fds[1]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_THAT(children, ::testing::Contains(child));
  EXPECT_THAT(children, ::testing::Not(::testing::Contains(getpid())));
  EXPECT_THAT(list_children(), ::testing::Not(::testing::Contains(child)));
}

TEST(RunSupervised, RefusesToRunWithoutBlockedSignals) {
  // The gtest process never blocks them, so this fails before spawning anything.
  auto result = run_supervised({}, {});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().message,
            "SIGHUP is not blocked; block_supervised_signals() must run first in main");
}

}  // namespace
}  // namespace smrun::supervise
