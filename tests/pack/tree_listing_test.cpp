#include "smrun/pack/tree_listing.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pack/pack_fixture.hpp"
#include "support/test_support.hpp"

namespace smrun::pack {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

std::vector<std::string> names_of(const TreeListing& l) {
  std::vector<std::string> out;
  for (const auto& e : l.entries) out.push_back(e.name);
  return out;
}

TEST(ListTree, SortsBytewisePerLevelWithDirectoriesBeforeTheirContents) {
  test::TempDir tmp;
  for (const char* f : {"b", "a.txt", "a-b", "A", "a/z", "a/Z", "a/m/1", "\xc3\xa9t\xc3\xa9", "~"})
    test::write_file(tmp / "root" / f, "x");
  auto l = list_tree(tmp / "root");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_THAT(names_of(*l), ElementsAre("A", "a", "a/Z", "a/m", "a/m/1", "a/z", "a-b", "a.txt", "b",
                                        "~", "\xc3\xa9t\xc3\xa9"));
  EXPECT_TRUE(l->skipped.empty());
}

TEST(ListTree, ClassifiesEntriesAndNeverFollowsSymlinks) {
  test::TempDir tmp;
  test::write_file(tmp / "root" / "d" / "f", "12345");
  fs::create_symlink("d", tmp / "root" / "ld");
  fs::create_symlink("/etc/passwd", tmp / "root" / "abs");
  ASSERT_EQ(::mkfifo((tmp / "root" / "fifo").c_str(), 0600), 0);
  auto l = list_tree(tmp / "root");
  ASSERT_TRUE(l) << l.error().message;
  ASSERT_THAT(names_of(*l), ElementsAre("abs", "d", "d/f", "ld"));
  EXPECT_EQ(l->entries[0].kind, EntryKind::kSymlink);
  EXPECT_EQ(l->entries[0].link_target, "/etc/passwd");
  EXPECT_EQ(l->entries[1].kind, EntryKind::kDirectory);
  EXPECT_EQ(l->entries[2].kind, EntryKind::kFile);
  EXPECT_EQ(l->entries[2].info.st_size, 5);
  EXPECT_EQ(l->entries[2].path, tmp / "root" / "d" / "f");
  EXPECT_EQ(l->entries[3].kind, EntryKind::kSymlink);
  EXPECT_EQ(l->entries[3].link_target, "d");
  EXPECT_THAT(l->skipped, ElementsAre("fifo"));
}

TEST(ListTree, RootMayBeASymlinkToADirectory) {
  test::TempDir tmp;
  test::write_file(tmp / "real" / "f", "x");
  fs::create_symlink(tmp / "real", tmp / "alias");
  auto l = list_tree(tmp / "alias");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_THAT(names_of(*l), ElementsAre("f"));
}

TEST(ListTree, EmptyRootListsNothing) {
  test::TempDir tmp;
  fs::create_directory(tmp / "root");
  auto l = list_tree(tmp / "root");
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->entries.empty());
}

TEST(ListTree, MissingRootNamesIt) {
  test::TempDir tmp;
  auto l = list_tree(tmp / "missing");
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().kind, base::ErrorKind::kPack);
  EXPECT_EQ(l.error().message,
            "cannot read " + (tmp / "missing").string() + ": No such file or directory");
}

}  // namespace
}  // namespace smrun::pack
