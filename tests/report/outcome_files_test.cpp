#include "smrun/report/outcome_files.hpp"

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace smrun::report {
namespace {

namespace fs = std::filesystem;

TEST(OutcomeFiles, PreviousOutcomesAreMovedAsideNeverReplaced) {
  test::TempDir dir;
  test::write_file(dir / "failure", "old failure\n");
  test::write_file(dir / "success", "");
  test::write_file(dir / "failure.previous", "older failure\n");
  test::write_file(dir / "model.tar.gz", "not an outcome");
  auto moved = set_aside_previous_outcomes(dir.path());
  ASSERT_TRUE(moved.has_value()) << moved.error().message;
  ASSERT_EQ(moved->size(), 2u);
  EXPECT_EQ((*moved)[0].first, dir / "failure");
  EXPECT_EQ((*moved)[0].second, dir / "failure.previous.2");
  EXPECT_EQ((*moved)[1].second, dir / "success.previous");
  EXPECT_FALSE(fs::exists(dir / "failure"));
  EXPECT_FALSE(fs::exists(dir / "success"));
  EXPECT_EQ(test::read_file(dir / "failure.previous"), "older failure\n");
  EXPECT_EQ(test::read_file(dir / "failure.previous.2"), "old failure\n");
  EXPECT_EQ(test::read_file(dir / "model.tar.gz"), "not an outcome");
  // Nothing left: a second call moves nothing.
  auto again = set_aside_previous_outcomes(dir.path());
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->empty());
}

TEST(OutcomeFiles, ManyRerunsKeepEveryFailureAndOneSuccessMarker) {
  test::TempDir dir;
  // More reruns than the old limit of 1000 numbered names.
  for (int run = 1; run <= 1003; ++run) {
    test::write_file(dir / (run % 2 == 0 ? "failure" : "success"),
                     run % 2 == 0 ? "failure of run " + std::to_string(run) + "\n" : "");
    auto moved = set_aside_previous_outcomes(dir.path());
    ASSERT_TRUE(moved.has_value()) << run << ": " << moved.error().message;
    ASSERT_EQ(moved->size(), 1u);
  }
  EXPECT_EQ(test::read_file(dir / "failure.previous"), "failure of run 2\n");
  EXPECT_EQ(test::read_file(dir / "failure.previous.2"), "failure of run 4\n");
  EXPECT_EQ(test::read_file(dir / "failure.previous.501"), "failure of run 1002\n");
  EXPECT_FALSE(fs::exists(dir / "failure.previous.502"));
  EXPECT_TRUE(fs::exists(dir / "success.previous"));
  EXPECT_FALSE(fs::exists(dir / "success.previous.2"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 502);
}

TEST(OutcomeFiles, NumbersContinueAfterTheHighestAndSkipOtherNames) {
  test::TempDir dir;
  test::write_file(dir / "failure", "new\n");
  test::write_file(dir / "failure.previous.7", "seventh\n");
  test::write_file(dir / "failure.previous.x", "not a number\n");
  test::write_file(dir / "failure.previous.99999999999999999999", "too long to be ours\n");
  // A success.previous that is not an empty marker is kept; the marker gets a number.
  test::write_file(dir / "success", "");
  test::write_file(dir / "success.previous", "the user's notes\n");
  auto moved = set_aside_previous_outcomes(dir.path());
  ASSERT_TRUE(moved.has_value()) << moved.error().message;
  ASSERT_EQ(moved->size(), 2u);
  EXPECT_EQ((*moved)[0].second, dir / "failure.previous.8");
  EXPECT_EQ((*moved)[1].second, dir / "success.previous.2");
  EXPECT_EQ(test::read_file(dir / "failure.previous.8"), "new\n");
  EXPECT_EQ(test::read_file(dir / "success.previous"), "the user's notes\n");
}

TEST(OutcomeFiles, MissingOutputDirIsNothingToMove) {
  test::TempDir dir;
  auto moved = set_aside_previous_outcomes(dir / "no-such-dir");
  ASSERT_TRUE(moved.has_value());
  EXPECT_TRUE(moved->empty());
}

}  // namespace
}  // namespace smrun::report
