// The private copies the intermediate output sync uploads from: exact bytes, mode 0600, a
// fingerprint that tells versions apart, nothing for what is not a regular file, and the file in
// place when a copy would eat into the free space.

#include "smrun/s3/file_snapshot.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace smrun::s3 {
namespace {

using test::read_file;
using test::TempDir;
using test::write_file;
namespace fs = std::filesystem;

TEST(FileSnapshot, CopiesTheBytesPrivately) {
  TempDir tmp;
  std::string data(3 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 4096);
  write_file(tmp / "ckpt.bin", data);
  auto snap = take_snapshot(tmp / "ckpt.bin", tmp / "staged");
  ASSERT_TRUE(snap) << snap.error().message;
  ASSERT_TRUE(*snap);
  const Snapshot& s = **snap;
  EXPECT_NE(s.method, SnapshotMethod::kInPlace);
  EXPECT_EQ(s.path, tmp / "staged");
  EXPECT_TRUE(s.consistent);
  EXPECT_EQ(s.source.size, data.size());
  EXPECT_EQ(s.source, fingerprint_of(tmp / "ckpt.bin"));
  EXPECT_TRUE(read_file(tmp / "staged") == data);
  struct stat st {};
  ASSERT_EQ(::stat((tmp / "staged").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  // A later write does not touch the snapshot; a second snapshot replaces the staged copy.
  write_file(tmp / "ckpt.bin", "v2");
  EXPECT_TRUE(read_file(tmp / "staged") == data);
  auto again = take_snapshot(tmp / "ckpt.bin", tmp / "staged");
  ASSERT_TRUE(again && *again);
  EXPECT_EQ(read_file(tmp / "staged"), "v2");
}

TEST(FileSnapshot, AnEmptyFileIsAnEmptySnapshot) {
  TempDir tmp;
  write_file(tmp / "empty", "");
  auto snap = take_snapshot(tmp / "empty", tmp / "staged");
  ASSERT_TRUE(snap && *snap);
  EXPECT_EQ(read_file(tmp / "staged"), "");
  EXPECT_TRUE((*snap)->consistent);
}

TEST(FileSnapshot, NothingForWhatIsNotARegularFile) {
  TempDir tmp;
  fs::create_directories(tmp / "dir");
  write_file(tmp / "target", "t");
  fs::create_symlink(tmp / "target", tmp / "link");
  ASSERT_EQ(::mkfifo((tmp / "fifo").c_str(), 0600), 0);
  for (const char* name : {"missing", "dir", "link", "fifo"}) {
    auto snap = take_snapshot(tmp / name, tmp / "staged");
    ASSERT_TRUE(snap) << name << ": " << snap.error().message;
    EXPECT_FALSE(*snap) << name;
    EXPECT_FALSE(fingerprint_of(tmp / name)) << name;
  }
}

TEST(FileSnapshot, UsesTheFileInPlaceWhenACopyWouldTakeTooMuchSpace) {
  TempDir tmp;
  write_file(tmp / "huge", "pretend this is most of the disk");
  auto snap = take_snapshot(tmp / "huge", tmp / "staged", {.max_free_share = 0.0});
  ASSERT_TRUE(snap && *snap);
  const Snapshot& s = **snap;
  if (s.method == SnapshotMethod::kReflink) GTEST_SKIP() << "reflinks cost no space here";
  EXPECT_EQ(s.method, SnapshotMethod::kInPlace);
  EXPECT_EQ(s.path, tmp / "huge");
  EXPECT_FALSE(fs::exists(tmp / "staged"));
}

TEST(FileSnapshot, TheFingerprintTellsVersionsApart) {
  TempDir tmp;
  write_file(tmp / "f", "one");
  const auto first = fingerprint_of(tmp / "f");
  ASSERT_TRUE(first);
  EXPECT_EQ(fingerprint_of(tmp / "f"), first);
  write_file(tmp / "f", "three");  // in place: same inode, other size and times
  const auto second = fingerprint_of(tmp / "f");
  ASSERT_TRUE(second);
  EXPECT_NE(second, first);
  EXPECT_EQ(second->inode, first->inode);
  write_file(tmp / "g", "three");
  fs::rename(tmp / "g", tmp / "f");  // replaced: another inode
  const auto third = fingerprint_of(tmp / "f");
  ASSERT_TRUE(third);
  EXPECT_NE(third->inode, second->inode);
}

TEST(FileSnapshot, AnUnwritableStagingPathIsAnErrorNamingBothFiles) {
  TempDir tmp;
  write_file(tmp / "f", "data");
  auto snap = take_snapshot(tmp / "f", tmp / "no-such-dir" / "staged");
  ASSERT_FALSE(snap);
  EXPECT_NE(snap.error().message.find((tmp / "f").string()), std::string::npos);
  EXPECT_NE(snap.error().message.find("no-such-dir/staged"), std::string::npos);
}

}  // namespace
}  // namespace smrun::s3
