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

TEST(AtomicFile, WriteBackStartsEveryEightMiBAndTheContentIsIntact) {
  test::TempDir tmp;
  auto f = AtomicFile::create(tmp / "big.bin");
  ASSERT_TRUE(f) << f.error().message;
  // 20 MiB + 5 bytes in pieces of 3 MiB + 1: write-back starts at 8 and 16 MiB, never for the
  // incomplete tail (fsync in commit takes that).
  std::string expected;
  const std::size_t piece = (std::size_t{3} << 20) + 1;
  const std::size_t total = (std::size_t{20} << 20) + 5;
  for (std::size_t i = 0; expected.size() < total; ++i) {
    std::string chunk(std::min(piece, total - expected.size()), static_cast<char>('a' + i % 26));
    chunk[0] = static_cast<char>(i);  // every piece distinguishable, its start too
    ASSERT_TRUE(f->write(bytes(chunk)));
    expected += chunk;
    if (expected.size() < AtomicFile::kWriteBehind) EXPECT_EQ(f->bytes_written_behind(), 0u);
  }
  EXPECT_EQ(f->bytes_written(), total);
  EXPECT_EQ(f->bytes_written_behind(), 2 * AtomicFile::kWriteBehind);
  ASSERT_TRUE(f->commit());
  EXPECT_EQ(f->bytes_flushed_early(), 0u);  // below the first background flush
  EXPECT_TRUE(test::read_file(tmp / "big.bin") == expected);
}

TEST(AtomicFile, BackgroundFlushEveryThirtyTwoMiBCoversAllButTheTail) {
  test::TempDir tmp;
  test::write_file(tmp / "big.bin", "old");
  auto f = AtomicFile::create(tmp / "big.bin");
  ASSERT_TRUE(f) << f.error().message;
  // 70 MiB in 1 MiB pieces: flushes are asked for at 32 and 64 MiB; commit() lets the last one
  // finish, so exactly 64 MiB were made durable before its own fsync.
  std::string piece(std::size_t{1} << 20, 'x');
  std::string expected;
  for (int i = 0; i < 70; ++i) {
    piece[0] = static_cast<char>(i);
    ASSERT_TRUE(f->write(bytes(piece)));
    expected += piece;
  }
  AtomicFile moved = std::move(*f);  // the flusher keeps working for the moved-to file
  EXPECT_EQ(test::read_file(tmp / "big.bin"), "old");
  ASSERT_TRUE(moved.commit());
  EXPECT_EQ(moved.bytes_written_behind(), 64u << 20);
  EXPECT_EQ(moved.bytes_flushed_early(), 2 * AtomicFile::kFlushEvery);
  EXPECT_TRUE(test::read_file(tmp / "big.bin") == expected);
  EXPECT_THAT(testing::dir_names(tmp.path()), ElementsAre("big.bin"));
}

TEST(AtomicFile, DroppedWhileTheFlusherRunsRemovesTheTemporary) {
  test::TempDir tmp;
  {
    auto f = AtomicFile::create(tmp / "big.bin");
    ASSERT_TRUE(f);
    std::string piece(std::size_t{4} << 20, 'y');
    for (int i = 0; i < 9; ++i) ASSERT_TRUE(f->write(bytes(piece)));  // 36 MiB: one flush asked
  }
  EXPECT_TRUE(testing::dir_names(tmp.path()).empty());
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
