#include "smrun/pack/atomic_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pack/pack_fixture.hpp"
#include "support/test_support.hpp"

namespace smrun::pack {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::MatchesRegex;

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(AtomicFile, TemporaryIsHiddenBesideTheTargetUntilCommit) {
  test::TempDir tmp;
  test::write_file(tmp / "out.tar.gz", "old");
  auto f = AtomicFile::create(tmp / "out.tar.gz");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->temp_path().parent_path(), tmp.path());
  EXPECT_THAT(f->temp_path().filename().string(), MatchesRegex("\\.out\\.tar\\.gz\\.tmp-.{6}"));
  ASSERT_TRUE(f->write(bytes("new ")));
  ASSERT_TRUE(f->write(bytes("content")));
  EXPECT_EQ(f->bytes_written(), 11u);
  EXPECT_EQ(test::read_file(tmp / "out.tar.gz"), "old");  // not visible yet
  ASSERT_TRUE(f->commit());
  EXPECT_EQ(test::read_file(tmp / "out.tar.gz"), "new content");
  EXPECT_THAT(testing::dir_names(tmp.path()), ElementsAre("out.tar.gz"));
}

TEST(AtomicFile, DroppedWithoutCommitRemovesTheTemporary) {
  test::TempDir tmp;
  test::write_file(tmp / "out.tar.gz", "old");
  {
    auto f = AtomicFile::create(tmp / "out.tar.gz");
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->write(bytes("partial")));
    EXPECT_EQ(testing::dir_names(tmp.path()).size(), 2u);
  }
  EXPECT_EQ(test::read_file(tmp / "out.tar.gz"), "old");
  EXPECT_THAT(testing::dir_names(tmp.path()), ElementsAre("out.tar.gz"));
}

TEST(AtomicFile, ResultHasUmaskPermissionsNotMkstemps0600) {
  test::TempDir tmp;
  const mode_t old = ::umask(022);
  auto f = AtomicFile::create(tmp / "out.tar.gz");
  ::umask(old);
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->commit());
  EXPECT_EQ(fs::status(tmp / "out.tar.gz").permissions(),
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);
}

TEST(AtomicFile, MissingDirectoryIsAnErrorNamingIt) {
  test::TempDir tmp;
  auto f = AtomicFile::create(tmp / "nope" / "out.tar.gz");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().kind, base::ErrorKind::kPack);
  EXPECT_EQ(f.error().message, "cannot create a temporary file in " + (tmp / "nope").string() +
                                   ": No such file or directory");
}

TEST(AtomicFile, RenameOntoADirectoryFailsAndCleansUp) {
  test::TempDir tmp;
  fs::create_directories(tmp / "out.tar.gz" / "inside");
  {
    auto f = AtomicFile::create(tmp / "out.tar.gz");
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->write(bytes("x")));
    base::Status s = f->commit();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message,
              "cannot replace " + (tmp / "out.tar.gz").string() + ": Is a directory");
  }
  EXPECT_THAT(testing::dir_names(tmp.path()), ElementsAre("out.tar.gz"));
}

}  // namespace
}  // namespace smrun::pack
