#include "smrun/code/extract.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "code/tar_builder.hpp"
#include "support/test_support.hpp"

namespace smrun::code {
namespace {

namespace fs = std::filesystem;
namespace tar = test_tar;
using smrun::test::read_file;
using smrun::test::TempDir;
using smrun::test::write_file;
using ::testing::HasSubstr;

// Every path below `root` with its type, without following symlinks: "d sub", "f a.txt", ...
std::vector<std::string> listing(const fs::path& root) {
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const auto st = it->symlink_status();
    const char kind = fs::is_symlink(st) ? 'l' : fs::is_directory(st) ? 'd' : 'f';
    out.push_back(std::string(1, kind) + " " + it->path().lexically_relative(root).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

class ExtractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(m_dest);
    write_file(m_sentinel / "keep.txt", "keep");
  }

  // Builds the archive, extracts it, and checks the failure left no trace anywhere.
  void expect_rejected(const std::vector<tar::Member>& members, const std::string& message,
                       const std::string& mode = "w:gz", const ExtractOptions& options = {}) {
    ASSERT_NO_FATAL_FAILURE(tar::build(m_archive, members, mode));
    const auto before = listing(m_tmp.path());
    const base::Status status = extract_archive_safely(m_archive, m_dest, options);
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().kind, base::ErrorKind::kCode);
    EXPECT_THAT(status.error().message, HasSubstr(message));
    EXPECT_THAT(status.error().message, HasSubstr(m_archive.string()));
    EXPECT_EQ(status.error().message.find('\n'), std::string::npos);
    EXPECT_TRUE(fs::is_empty(m_dest));
    EXPECT_EQ(listing(m_tmp.path()), before);  // nothing new beside dest either
    EXPECT_EQ(read_file(m_sentinel / "keep.txt"), "keep");
  }

  TempDir m_tmp;
  fs::path m_dest = m_tmp / "dest";
  fs::path m_sentinel = m_tmp / "sentinel";
  fs::path m_archive = m_tmp / "archive.tar.gz";
};

TEST_F(ExtractTest, GoodArchiveKeepsContentModesTimesAndLinks) {
  ASSERT_NO_FATAL_FAILURE(tar::build(
      m_archive, {tar::dir("./", 0700), tar::file("train.sh", "#!/bin/sh\necho hi\n", 0755),
                  tar::file("pkg/deep/data.txt", "data", 0600), tar::dir("ro", 0555),
                  tar::file("ro/inside.txt", "x", 0444), tar::file("suid", "s", 06755),
                  tar::symlink("pkg/link", "deep/data.txt"), tar::symlink("up", "pkg/../train.sh"),
                  tar::hardlink("hard", "pkg/deep/data.txt")}));
  const mode_t dest_mode = mode_of(m_dest);
  ASSERT_TRUE(extract_archive_safely(m_archive, m_dest));

  EXPECT_EQ(listing(m_dest), (std::vector<std::string>{
                                 "d pkg", "d pkg/deep", "d ro", "f hard", "f pkg/deep/data.txt",
                                 "f ro/inside.txt", "f suid", "f train.sh", "l pkg/link", "l up"}));
  EXPECT_EQ(read_file(m_dest / "train.sh"), "#!/bin/sh\necho hi\n");
  EXPECT_EQ(mode_of(m_dest / "train.sh"), 0755u);
  EXPECT_EQ(mode_of(m_dest / "pkg/deep/data.txt"), 0600u);
  EXPECT_EQ(mode_of(m_dest / "ro"), 0555u);    // applied after its child was written
  EXPECT_EQ(mode_of(m_dest / "suid"), 0755u);  // setuid/setgid stripped
  EXPECT_EQ(mode_of(m_dest), dest_mode);       // "./" does not touch the destination
  EXPECT_EQ(fs::read_symlink(m_dest / "pkg/link"), "deep/data.txt");
  EXPECT_EQ(read_file(m_dest / "pkg/link"), "data");
  EXPECT_TRUE(fs::equivalent(m_dest / "hard", m_dest / "pkg/deep/data.txt"));

  struct stat st {};
  ASSERT_EQ(stat((m_dest / "train.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, 1600000000);
  EXPECT_EQ(st.st_uid, geteuid());  // the archive says 1234; owners are not restored
  ASSERT_EQ(stat((m_dest / "ro").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, 1600000000);
}

TEST_F(ExtractTest, PlainAndOtherCompressionsAreDetectedByContent) {
  for (const std::string mode : {"w", "w:bz2", "w:xz"}) {
    const fs::path archive = m_tmp / ("a-" + mode.substr(mode.size() - 1) + ".bin");
    ASSERT_NO_FATAL_FAILURE(tar::build(archive, {tar::file("a.txt", "A")}, mode));
    EXPECT_TRUE(is_tar_archive(archive)) << mode;
    const fs::path dest = m_tmp / ("dest-" + mode.substr(mode.size() - 1));
    fs::create_directory(dest);
    ASSERT_TRUE(extract_archive_safely(archive, dest)) << mode;
    EXPECT_EQ(read_file(dest / "a.txt"), "A") << mode;
  }
}

TEST_F(ExtractTest, GnuTarArchive) {
  write_file(m_tmp / "src/train.py", "print(1)\n");
  write_file(m_tmp / "src/lib/util.py", "X = 1\n");
  fs::create_symlink("lib/util.py", m_tmp / "src/alias.py");
  smrun::test::ProcessOptions options;
  options.argv = {"/usr/bin/tar", "-czf", m_archive.string(), "-C", (m_tmp / "src").string(), "."};
  ASSERT_EQ(smrun::test::run_process(options).exit_code, 0);
  ASSERT_TRUE(is_tar_archive(m_archive));
  ASSERT_TRUE(extract_archive_safely(m_archive, m_dest));
  EXPECT_EQ(listing(m_dest),
            (std::vector<std::string>{"d lib", "f lib/util.py", "f train.py", "l alias.py"}));
  EXPECT_EQ(read_file(m_dest / "alias.py"), "X = 1\n");
}

TEST_F(ExtractTest, EmptyArchiveIsATarWithNothingInIt) {
  ASSERT_NO_FATAL_FAILURE(tar::build(m_archive, {}));
  EXPECT_TRUE(is_tar_archive(m_archive));
  ASSERT_TRUE(extract_archive_safely(m_archive, m_dest));
  EXPECT_TRUE(fs::is_empty(m_dest));
}

TEST_F(ExtractTest, RejectsAbsolutePath) {
  const std::string evil = (m_tmp / "abs_evil").string();
  expect_rejected({tar::file("ok.txt", "fine"), tar::file(evil, "evil")},
                  "member '" + evil + "' has an absolute path");
}

TEST_F(ExtractTest, RejectsDotDot) {
  expect_rejected({tar::file("ok.txt", "x"), tar::file("../evil", "evil")},
                  "member '../evil' contains a '..' component");
}

TEST_F(ExtractTest, RejectsDotDotInTheMiddle) {
  expect_rejected({tar::dir("a"), tar::file("a/../../evil", "evil")},
                  "member 'a/../../evil' contains a '..' component");
}

TEST_F(ExtractTest, RejectsSymlinkToAbsoluteDirectoryAndWritesThroughIt) {
  const std::string target = m_sentinel.string();  // stands in for /etc
  expect_rejected({tar::symlink("link", target), tar::file("link/passwd", "root::0:0")},
                  "member 'link' is a symlink to absolute path '" + target + "'");
}

TEST_F(ExtractTest, RejectsWritingThroughAnInsideSymlink) {
  expect_rejected({tar::dir("real"), tar::symlink("link", "real"), tar::file("link/x", "x")},
                  "member 'link/x' would be written through symlink 'link'");
}

TEST_F(ExtractTest, RejectsReplacingASymlink) {
  expect_rejected({tar::file("f", "1"), tar::symlink("link", "f"), tar::file("link", "x")},
                  "member 'link' would replace symlink 'link'");
}

TEST_F(ExtractTest, RejectsSymlinkLeavingDest) {
  expect_rejected({tar::dir("a"), tar::symlink("a/out", "../../outside")},
                  "member 'a/out' is a symlink whose target '../../outside' leaves the "
                  "destination");
}

TEST_F(ExtractTest, RejectsSymlinkChainThatEscapesOnlyOnDisk) {
  // Lexically "s1" stays inside; once sub/deeper -> .. exists it resolves to dest/../x.
  expect_rejected(
      {tar::dir("sub"), tar::symlink("s1", "sub/deeper/../../x"), tar::symlink("sub/deeper", "..")},
      "symlink 's1' resolves outside the destination through other symlinks");
}

TEST_F(ExtractTest, RejectsSymlinkLoop) {
  expect_rejected({tar::symlink("a", "b"), tar::symlink("b", "a")},
                  "too many levels of symlinks resolving");
}

TEST_F(ExtractTest, RejectsHardlinkToAbsolutePath) {
  expect_rejected({tar::hardlink("pw", "/etc/passwd")},
                  "member 'pw' is a hard link whose target '/etc/passwd' has an absolute path");
}

TEST_F(ExtractTest, RejectsHardlinkWithDotDot) {
  expect_rejected({tar::hardlink("x", "../x")},
                  "member 'x' is a hard link whose target '../x' contains a '..' component");
}

TEST_F(ExtractTest, RejectsHardlinkToMemberNotYetExtracted) {
  expect_rejected({tar::hardlink("early", "later.txt"), tar::file("later.txt", "x")},
                  "member 'early' is a hard link to 'later.txt', which is not a regular file "
                  "extracted earlier from this archive");
}

TEST_F(ExtractTest, RejectsHardlinkToDirectory) {
  expect_rejected({tar::dir("d"), tar::hardlink("h", "d")},
                  "member 'h' is a hard link to 'd', which is not a regular file");
}

TEST_F(ExtractTest, RejectsCharacterDevice) {
  expect_rejected({tar::file("ok", "x"), tar::special("null", "chr")},
                  "member 'null' is a character device, which is not allowed");
}

TEST_F(ExtractTest, RejectsBlockDevice) {
  expect_rejected({tar::special("disk", "blk")},
                  "member 'disk' is a block device, which is not allowed");
}

TEST_F(ExtractTest, RejectsFifo) {
  expect_rejected({tar::special("pipe", "fifo")}, "member 'pipe' is a FIFO, which is not allowed");
}

TEST_F(ExtractTest, RejectsArchiveOverSizeLimit) {
  ExtractOptions options;
  options.max_total_bytes = 10;
  expect_rejected({tar::file("a", "123456"), tar::file("b", "12345")},
                  "member 'b' takes the declared total size over the limit of 10 bytes", "w:gz",
                  options);
}

TEST_F(ExtractTest, AcceptsArchiveExactlyAtSizeLimit) {
  ExtractOptions options;
  options.max_total_bytes = 11;
  ASSERT_NO_FATAL_FAILURE(
      tar::build(m_archive, {tar::file("a", "123456"), tar::file("b", "12345")}));
  EXPECT_TRUE(extract_archive_safely(m_archive, m_dest, options));
}

TEST_F(ExtractTest, RejectsTooManyMembers) {
  ExtractOptions options;
  options.max_members = 2;
  expect_rejected({tar::file("a", ""), tar::file("b", ""), tar::file("c", "")},
                  "more than 2 members", "w:gz", options);
}

TEST_F(ExtractTest, RejectsTruncatedGzip) {
  tar::Member big = tar::file("first.txt", "");
  big.random_bytes = 256 * 1024;
  ASSERT_NO_FATAL_FAILURE(tar::build(m_archive, {tar::file("a.txt", "a"), big}));
  const auto full = read_file(m_archive);
  write_file(m_archive, full.substr(0, full.size() / 2));
  const auto before = listing(m_tmp.path());
  const base::Status status = extract_archive_safely(m_archive, m_dest);
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message, HasSubstr("cannot extract " + m_archive.string()));
  EXPECT_THAT(status.error().message, HasSubstr("member 'first.txt' cannot be read (corrupt or "
                                                "truncated archive?)"));
  EXPECT_TRUE(fs::is_empty(m_dest));
  EXPECT_EQ(listing(m_tmp.path()), before);
}

TEST_F(ExtractTest, RejectsNonArchive) {
  write_file(m_archive, "just some text, not a tar file\n");
  EXPECT_FALSE(is_tar_archive(m_archive));
  const base::Status status = extract_archive_safely(m_archive, m_dest);
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message,
              HasSubstr("cannot extract " + m_archive.string() + ": not a readable tar archive"));
  EXPECT_TRUE(fs::is_empty(m_dest));
}

TEST_F(ExtractTest, EmptyFileIsNotATar) {
  write_file(m_archive, "");
  EXPECT_FALSE(is_tar_archive(m_archive));
}

TEST_F(ExtractTest, MissingArchive) {
  const base::Status status = extract_archive_safely(m_tmp / "nope.tar", m_dest);
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message, HasSubstr("cannot extract " + (m_tmp / "nope.tar").string() +
                                                ": not a readable tar archive: Failed to open"));
}

TEST_F(ExtractTest, MissingDestination) {
  ASSERT_NO_FATAL_FAILURE(tar::build(m_archive, {tar::file("a", "")}));
  const base::Status status = extract_archive_safely(m_archive, m_tmp / "nodest");
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message,
              HasSubstr("destination " + (m_tmp / "nodest").string() + " is not a directory"));
  EXPECT_FALSE(fs::exists(m_tmp / "nodest"));
}

TEST_F(ExtractTest, RollbackKeepsWhatExistedBefore) {
  write_file(m_dest / "pre.txt", "pre");
  write_file(m_dest / "pre_dir/old.txt", "old");
  ASSERT_NO_FATAL_FAILURE(
      tar::build(m_archive, {tar::file("pre_dir/new.txt", "new"), tar::file("new_dir/deep/x", "x"),
                             tar::file("top.txt", "t"), tar::special("pipe", "fifo")}));
  const base::Status status = extract_archive_safely(m_archive, m_dest);
  ASSERT_FALSE(status);
  EXPECT_EQ(listing(m_dest),
            (std::vector<std::string>{"d pre_dir", "f pre.txt", "f pre_dir/old.txt"}));
  EXPECT_EQ(read_file(m_dest / "pre.txt"), "pre");
}

TEST_F(ExtractTest, ControlCharactersInNamesAreEscaped) {
  expect_rejected({tar::file("../a\nb", "x")}, "member '../a\\nb' contains a '..' component");
}

// Found by fuzz_extract's one-line-error invariant: the on-disk checks printed the path they
// stopped at unescaped, so a member name with a newline split the error message in two.
TEST_F(ExtractTest, ControlCharactersInOnDiskPathsAreEscaped) {
  expect_rejected({tar::symlink("l\nk", "x"), tar::file("l\nk", "x")},
                  "member 'l\\nk' would replace symlink 'l\\nk'");
}

TEST_F(ExtractTest, ControlCharactersInParentPathsAreEscaped) {
  expect_rejected({tar::file("a\nb", "x"), tar::file("a\nb/c", "y")},
                  "member 'a\\nb/c' needs 'a\\nb' to be a directory");
}

TEST_F(ExtractTest, ControlCharactersInLateSymlinkErrorsAreEscaped) {
  // The chain of RejectsSymlinkChainThatEscapesOnlyOnDisk, with newlines in the names.
  expect_rejected({tar::dir("s\nub"), tar::symlink("s\n1", "s\nub/deeper/../../x"),
                   tar::symlink("s\nub/deeper", "..")},
                  "symlink 's\\n1' resolves outside the destination through other symlinks");
}

}  // namespace
}  // namespace smrun::code
