// report::finish: the one place a job's end is written down.

#include "smrun/report/outcome.hpp"

#include <signal.h>

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace smrun::report {
namespace {

namespace fs = std::filesystem;

OutcomeFiles files_in(const test::TempDir& dir) {
  return OutcomeFiles{dir / "output" / "failure", dir / "output" / "success"};
}

TEST(Outcome, SuccessWritesTheMarkerOnly) {
  test::TempDir dir;
  const OutcomeFiles files = files_in(dir);
  EXPECT_EQ(finish(success(), &files, {}), 0);
  EXPECT_TRUE(fs::exists(files.success_file));
  EXPECT_EQ(test::read_file(files.success_file), "");
  EXPECT_FALSE(fs::exists(files.failure_file));
}

TEST(Outcome, SmrunErrorIsScrubbedAndUsesItsKindsExitCode) {
  test::TempDir dir;
  const OutcomeFiles files = files_in(dir);
  const auto outcome =
      smrun_error(base::Error(base::ErrorKind::kInstall, "pip failed for token s3cr3t-value"),
                  "algo-1", "ERROR: s3cr3t-value rejected");
  EXPECT_EQ(outcome.kind, OutcomeKind::kSmrunError);
  EXPECT_EQ(finish(outcome, &files, {"s3cr3t-value"}), 67);
  EXPECT_EQ(test::read_file(files.failure_file),
            "InstallRequirementsError: pip failed for token **** (on algo-1)\n\n"
            "ERROR: **** rejected\n");
  EXPECT_FALSE(fs::exists(files.success_file));
}

TEST(Outcome, ExitCodeOverride) {
  const auto outcome =
      smrun_error(base::Error(base::ErrorKind::kCode, "run.sh not found"), "h", {}, 127);
  EXPECT_EQ(outcome.exit_code, 127);
  EXPECT_EQ(finish(outcome, nullptr, {}), 127);  // nothing to write without paths
}

TEST(Outcome, StoppedBeforeAStep) {
  test::TempDir dir;
  const OutcomeFiles files = files_in(dir);
  const auto outcome = stopped(SIGTERM, "starting the user program", "algo-2");
  EXPECT_EQ(outcome.kind, OutcomeKind::kStopped);
  EXPECT_EQ(finish(outcome, &files, {}), 143);
  EXPECT_EQ(test::read_file(files.failure_file),
            "Stopped: InternalError: received SIGTERM before starting the user program; stopping "
            "(on algo-2)\n");
}

TEST(Outcome, TheProgramsOwnFailureFileIsKept) {
  test::TempDir dir;
  const OutcomeFiles files = files_in(dir);
  test::write_file(files.failure_file, "my reason\n");
  EXPECT_EQ(finish(program_failed("ExecuteUserScriptError: x\n", 3), &files, {}), 3);
  EXPECT_EQ(test::read_file(files.failure_file), "my reason\n");
}

TEST(Outcome, KindNames) {
  EXPECT_STREQ(outcome_kind_name(OutcomeKind::kClusterFailed), "cluster failed");
  EXPECT_STREQ(outcome_kind_name(OutcomeKind::kWorkerFailed), "worker failed");
}

}  // namespace
}  // namespace smrun::report
