// The root cause out of mpirun's stderr (texts as Debian's Open MPI 4.1.4 prints them).

#include "smrun/report/mpirun_output.hpp"

#include <gtest/gtest.h>

namespace smrun::report {
namespace {

const std::vector<std::string> kHosts{"algo-1", "algo-2"};

TEST(MpirunOutput, NonZeroExitNamesRankHostAndCode) {
  const std::string tail =
      "[1,3]<stderr>:Traceback (most recent call last):\n"
      "[1,1]<stdout>:rank=1 world=4\n"
      "[1,3]<stderr>:ValueError: bad shape\n"
      "--------------------------------------------------------------------------\n"
      "Primary job  terminated normally, but 1 process returned\n"
      "a non-zero exit code. Per user-direction, the job has been aborted.\n"
      "--------------------------------------------------------------------------\n"
      "[1,1]<stderr>:[vm][[24208,1],1][btl_tcp.c:559:mca_btl_tcp_recv_blocking] recv(24) "
      "failed: Connection reset by peer (104)\n"
      "--------------------------------------------------------------------------\n"
      "mpirun detected that one or more processes exited with non-zero status, thus causing\n"
      "the job to be terminated. The first process to do so was:\n"
      "\n"
      "  Process name: [[24208,1],3]\n"
      "  Exit code:    3\n"
      "--------------------------------------------------------------------------\n";
  auto failure = parse_mpirun_failure(tail, kHosts, 2);
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->rank, 3);
  EXPECT_EQ(failure->host, "algo-2");
  EXPECT_EQ(failure->exit_code, 3);
  EXPECT_EQ(failure->signal, 0);
  EXPECT_EQ(failure->stderr_text, "Traceback (most recent call last):\nValueError: bad shape\n");
}

TEST(MpirunOutput, SignalNamesTheNodeMpirunReports) {
  const std::string tail =
      "[1,1]<stderr>:[vm:12113] Signal: Segmentation fault (11)\n"
      "--------------------------------------------------------------------------\n"
      "mpirun noticed that process rank 1 with PID 12113 on node algo-1 exited on signal 11 "
      "(Segmentation fault).\n"
      "--------------------------------------------------------------------------\n";
  auto failure = parse_mpirun_failure(tail, kHosts, 2);
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->rank, 1);
  EXPECT_EQ(failure->host, "algo-1");
  EXPECT_EQ(failure->signal, 11);
  EXPECT_EQ(failure->stderr_text, "[vm:12113] Signal: Segmentation fault (11)\n");
}

TEST(MpirunOutput, NothingRecognisableGivesNothing) {
  EXPECT_FALSE(
      parse_mpirun_failure("ssh: connect to host algo-2 port 22: Connection refused\n", kHosts, 2));
  EXPECT_FALSE(parse_mpirun_failure("", kHosts, 2));
}

TEST(MpirunOutput, RankBeyondTheHostListHasNoHost) {
  auto failure = parse_mpirun_failure("  Process name: [[1,1],9]\n  Exit code:    2\n", kHosts, 2);
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->rank, 9);
  EXPECT_EQ(failure->host, "");
  EXPECT_EQ(failure->exit_code, 2);
}

}  // namespace
}  // namespace smrun::report
