// explain_argument_list_too_long: what smrun says when execve fails with E2BIG, and the real
// exec failure it is attached to.

#include "smrun/supervise/exec_limits.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "supervise/harness.hpp"

namespace smrun::supervise::testing {
namespace {

// Small limits keep the inputs readable; the logic does not depend on the numbers.
const ExecLimits kLimits{/*max_entry_bytes=*/16, /*max_total_bytes=*/1000};

TEST(ExecLimits, NothingOverTheLimitsExplainsNothing) {
  EXPECT_EQ(explain_argument_list_too_long({"prog", "--a", "fifteen-bytes!!"}, {"A=1"}, kLimits),
            "");
}

TEST(ExecLimits, NamesTheFlagBeforeAnOversizedValueButNeverTheValue) {
  const std::string value(20, 'v');
  EXPECT_EQ(explain_argument_list_too_long({"prog", "--lr", "0.1", "--big", value}, {}, kLimits),
            "1 entry is longer than the 16 bytes Linux allows for one argument or environment "
            "variable: argument 4, the value after '--big' (21 bytes)");
}

TEST(ExecLimits, AnOversizedArgumentWithoutAFlagIsNamedByPosition) {
  EXPECT_EQ(explain_argument_list_too_long({"prog", std::string(30, 'a')}, {}, kLimits),
            "1 entry is longer than the 16 bytes Linux allows for one argument or environment "
            "variable: argument 1 (31 bytes)");
}

TEST(ExecLimits, NamesVariablesSmallestFirstAndCountsTheRest) {
  std::vector<std::string> env = {"OK=1"};
  for (int i = 0; i < 7; ++i)
    env.push_back("V" + std::to_string(i) + "=" +
                  std::string(static_cast<std::size_t>(30 - i), 'x'));
  EXPECT_EQ(explain_argument_list_too_long({"prog"}, env, kLimits),
            "7 entries are longer than the 16 bytes Linux allows for one argument or environment "
            "variable: V6 (28 bytes), V5 (29 bytes), V4 (30 bytes), V3 (31 bytes), V2 (32 bytes), "
            "and 2 more");
}

TEST(ExecLimits, LongNamesAreShortened) {
  const std::string name(60, 'N');
  const std::string flag = "--" + std::string(60, 'f');
  EXPECT_EQ(explain_argument_list_too_long({"prog", flag, "x"}, {name + "=v"}, kLimits),
            "2 entries are longer than the 16 bytes Linux allows for one argument or environment "
            "variable: argument 1 (63 bytes), " +
                std::string(48, 'N') + "... (63 bytes)");
  const std::string value(20, 'v');
  EXPECT_EQ(explain_argument_list_too_long({"prog", flag, value}, {}, ExecLimits{64, 1000}),
            "");  // the flag alone is 63 bytes: within a 64-byte limit
  EXPECT_EQ(explain_argument_list_too_long({"prog", flag, std::string(70, 'v')}, {},
                                           ExecLimits{64, 1000}),
            "1 entry is longer than the 64 bytes Linux allows for one argument or environment "
            "variable: argument 2, the value after '--" +
                std::string(46, 'f') + "...' (71 bytes)");
}

TEST(ExecLimits, TotalSizeCountsStringsNulsAndPointers) {
  // 100 arguments of 9 bytes + NUL + pointer, 1 variable "A=1" + NUL + pointer.
  std::vector<std::string> argv(100, "123456789");
  const std::size_t total = 100 * (10 + sizeof(char*)) + 4 + sizeof(char*);
  EXPECT_EQ(explain_argument_list_too_long(argv, {"A=1"}, ExecLimits{16, total}), "");
  EXPECT_EQ(explain_argument_list_too_long(argv, {"A=1"}, ExecLimits{16, total - 1}),
            "arguments and environment take " + std::to_string(total) +
                " bytes (100 arguments, 1 variables), over the " + std::to_string(total - 1) +
                "-byte limit (a quarter of the stack size limit, ulimit -s)");
}

TEST(ExecLimits, BothLimitsAreReported) {
  const std::string why =
      explain_argument_list_too_long({"prog"}, {"BIG=" + std::string(2000, 'x')}, kLimits);
  EXPECT_EQ(why,
            "1 entry is longer than the 16 bytes Linux allows for one argument or environment "
            "variable: BIG (2005 bytes); arguments and environment take " +
                std::to_string(5 + 2005 + 2 * sizeof(char*)) +
                " bytes (1 arguments, 1 variables), over the 1000-byte limit (a quarter of the "
                "stack size limit, ulimit -s)");
}

TEST(ExecLimits, CurrentLimitsAreLinuxs) {
  const ExecLimits limits = current_exec_limits();
  EXPECT_EQ(limits.max_entry_bytes, 32 * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)));
  EXPECT_GE(limits.max_total_bytes, limits.max_entry_bytes);
  EXPECT_LE(limits.max_total_bytes, std::size_t{6} << 20);
}

TEST(SuperviseExec, TooLongVariableIs126NamingIt) {
  test::TempDir dir;
  ProcessSpec spec = make_spec("w0", {"/bin/true", "--x"});
  const std::size_t limit = current_exec_limits().max_entry_bytes;
  spec.env.push_back("HUGE_VALUE=" + std::string(limit, 'z'));
  SupervisorProcess sup(dir, {spec});
  Outcome out = sup.wait();
  ASSERT_TRUE(out.finished && out.ok) << out.error << out.log_text;
  EXPECT_TRUE(out.workers[0].exec_failed);
  EXPECT_EQ(out.workers[0].exit_code, 126);
  EXPECT_EQ(out.workers[0].exec_error,
            "cannot execute '/bin/true': Argument list too long: 1 entry is longer than the " +
                std::to_string(limit) +
                " bytes Linux allows for one argument or environment variable: HUGE_VALUE (" +
                std::to_string(limit + 12) + " bytes)");
  EXPECT_TRUE(out.no_children_left);
}

}  // namespace
}  // namespace smrun::supervise::testing
