#include "smrun/code/archive_paths.hpp"

#include <gtest/gtest.h>

namespace smrun::code {
namespace {

namespace fs = std::filesystem;

TEST(NormalizeMemberPath, DropsDotsAndEmptyComponents) {
  EXPECT_EQ(normalize_member_path("./a//b/./c/").value(), fs::path("a/b/c"));
  EXPECT_EQ(normalize_member_path("train.py").value(), fs::path("train.py"));
  EXPECT_EQ(normalize_member_path("./").value(), fs::path());
  EXPECT_EQ(normalize_member_path("").value(), fs::path());
  EXPECT_EQ(normalize_member_path("a..b/..c/d..").value(), fs::path("a..b/..c/d.."));
}

TEST(NormalizeMemberPath, RejectsAbsoluteAndDotDot) {
  EXPECT_EQ(normalize_member_path("/etc/passwd").error().message, "has an absolute path");
  EXPECT_EQ(normalize_member_path("//x").error().message, "has an absolute path");
  EXPECT_EQ(normalize_member_path("..").error().message, "contains a '..' component");
  EXPECT_EQ(normalize_member_path("a/../b").error().message, "contains a '..' component");
  EXPECT_EQ(normalize_member_path("a/..").error().message, "contains a '..' component");
}

TEST(SymlinkTargetStaysInside, ResolvesFromTheLinksDirectory) {
  EXPECT_TRUE(symlink_target_stays_inside("link", "target"));
  EXPECT_TRUE(symlink_target_stays_inside("link", "."));
  EXPECT_TRUE(symlink_target_stays_inside("a/link", ".."));
  EXPECT_TRUE(symlink_target_stays_inside("a/b/link", "../../c"));
  EXPECT_TRUE(symlink_target_stays_inside("a/link", "x/../../y"));
  EXPECT_FALSE(symlink_target_stays_inside("link", ".."));
  EXPECT_FALSE(symlink_target_stays_inside("a/link", "../.."));
  EXPECT_FALSE(symlink_target_stays_inside("a/b/link", "../../../c"));
  // Climbing out and back in is still refused: the step outside is what matters.
  EXPECT_FALSE(symlink_target_stays_inside("link", "../dest/x"));
  EXPECT_FALSE(symlink_target_stays_inside("a/link", "x/../../../a"));
}

}  // namespace
}  // namespace smrun::code
