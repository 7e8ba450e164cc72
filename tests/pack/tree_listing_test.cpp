#include "smrun/pack/tree_listing.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

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
  EXPECT_EQ(l->entries[2].info.size, 5u);
  EXPECT_EQ(l->path_of(l->entries[2]), tmp / "root" / "d" / "f");
  EXPECT_EQ(l->dirs.at(l->entries[2].dir), tmp / "root" / "d");
  EXPECT_STREQ(TreeListing::base_name(l->entries[2]), "f");
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

// Past 2048 entries the stat pass runs on several threads, large directories split between them:
// the listing must be the one a single thread makes, entry for entry.
TEST(ListTree, ParallelStatPassGivesTheSerialListing) {
  test::TempDir tmp;
  const fs::path root = tmp / "root";
  for (int i = 0; i < 1500; ++i)  // one directory of 1500: three tasks
    test::write_file(root / "flat" / ("f" + std::to_string(i)), std::string(i % 100, 'x'));
  for (int i = 0; i < 1200; ++i)
    test::write_file(root / ("d" + std::to_string(i % 40)) / ("g" + std::to_string(i)),
                     std::to_string(i));
  fs::create_symlink("../flat/f7", root / "d3" / "link");
  ASSERT_EQ(::mkfifo((root / "d5" / "fifo").c_str(), 0600), 0);
  auto serial = list_tree(root, 1);
  auto parallel = list_tree(root, 4);
  ASSERT_TRUE(serial && parallel);
  ASSERT_EQ(serial->entries.size(), 1500u + 1200u + 41u + 1u);
  ASSERT_EQ(parallel->entries.size(), serial->entries.size());
  for (std::size_t i = 0; i < serial->entries.size(); ++i) {
    const TreeEntry& a = serial->entries[i];
    const TreeEntry& b = parallel->entries[i];
    ASSERT_EQ(a.name, b.name);
    EXPECT_EQ(a.kind, b.kind) << a.name;
    EXPECT_EQ(a.info.size, b.info.size) << a.name;
    EXPECT_EQ(a.info.mode, b.info.mode) << a.name;
    EXPECT_EQ(a.info.mtime, b.info.mtime) << a.name;
    EXPECT_EQ(a.link_target, b.link_target) << a.name;
    EXPECT_EQ(serial->dirs.at(a.dir), parallel->dirs.at(b.dir)) << a.name;
    EXPECT_EQ(serial->path_of(a).parent_path(), serial->dirs.at(a.dir)) << a.name;
  }
  EXPECT_THAT(parallel->skipped, ElementsAre("d5/fifo"));
  const auto link = std::find_if(parallel->entries.begin(), parallel->entries.end(),
                                 [](const TreeEntry& e) { return e.name == "d3/link"; });
  ASSERT_NE(link, parallel->entries.end());
  EXPECT_EQ(link->kind, EntryKind::kSymlink);
  EXPECT_EQ(link->link_target, "../flat/f7");
}

// A directory replaced by a symlink between listing and reading is not followed.
TEST(ListTree, SubdirectoryIsOpenedWithoutFollowingSymlinks) {
  test::TempDir tmp;
  test::write_file(tmp / "root" / "d" / "f", "x");
  auto l = list_tree(tmp / "root");
  ASSERT_TRUE(l);
  fs::rename(tmp / "root" / "d", tmp / "elsewhere");
  fs::create_symlink(tmp / "elsewhere", tmp / "root" / "d");
  EXPECT_EQ(open_listed_directory(*l, 1), -1);
  EXPECT_TRUE(errno == ELOOP || errno == ENOTDIR) << errno;
}

}  // namespace
}  // namespace smrun::pack
