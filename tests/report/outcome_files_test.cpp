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

TEST(OutcomeFiles, MissingOutputDirIsNothingToMove) {
  test::TempDir dir;
  auto moved = set_aside_previous_outcomes(dir / "no-such-dir");
  ASSERT_TRUE(moved.has_value());
  EXPECT_TRUE(moved->empty());
}

}  // namespace
}  // namespace smrun::report
