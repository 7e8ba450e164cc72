#include "smrun/code/submit_dir.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

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

// Path, type, mode, mtime and content (or link target) of everything below root.
std::vector<std::string> snapshot(const fs::path& root) {
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    struct stat st {};
    lstat(it->path().c_str(), &st);
    std::string line = it->path().lexically_relative(root).string() + " " +
                       std::to_string(st.st_mode) + " " + std::to_string(st.st_mtime);
    if (S_ISLNK(st.st_mode)) line += " -> " + fs::read_symlink(it->path()).string();
    if (S_ISREG(st.st_mode)) line += " = " + read_file(it->path());
    out.push_back(line);
  }
  std::sort(out.begin(), out.end());
  return out;
}

class SubmitDirTest : public ::testing::Test {
 protected:
  void expect_error(const std::string& uri, const std::string& message) {
    const base::Status status = prepare_code_dir(uri, m_code);
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().kind, base::ErrorKind::kCode);
    EXPECT_THAT(status.error().message, HasSubstr(message));
    EXPECT_TRUE(fs::is_directory(m_code));
    EXPECT_TRUE(fs::is_empty(m_code));
  }

  TempDir m_tmp;
  fs::path m_code = m_tmp / "opt/ml/code";
};

TEST_F(SubmitDirTest, CreatesMissingCodeDirAndEmptyUriFetchesNothing) {
  ASSERT_TRUE(prepare_code_dir("", m_code));
  EXPECT_TRUE(fs::is_directory(m_code));
  EXPECT_TRUE(fs::is_empty(m_code));
}

TEST_F(SubmitDirTest, NonEmptyCodeDirWins) {
  write_file(m_code / "baked.py", "baked");
  write_file(m_tmp / "src/train.py", "submitted");
  ASSERT_TRUE(prepare_code_dir((m_tmp / "src").string(), m_code));
  ASSERT_TRUE(prepare_code_dir("s3://bucket/sourcedir.tar.gz", m_code));  // not even looked at
  EXPECT_EQ(snapshot(m_code).size(), 1u);
  EXPECT_EQ(read_file(m_code / "baked.py"), "baked");
}

TEST_F(SubmitDirTest, S3NeedsADownloader) {
  // cli passes the S3 downloader (tests/s3 run it against a real S3 server).
  expect_error(
      "s3://bucket/prefix/sourcedir.tar.gz",
      "submit directory s3://bucket/prefix/sourcedir.tar.gz: no downloader for this scheme");
}

TEST_F(SubmitDirTest, OtherSchemesAreRejected) {
  expect_error("https://example.com/x.tar.gz",
               "submit directory https://example.com/x.tar.gz: unsupported URI scheme 'https'");
}

TEST_F(SubmitDirTest, MissingPath) {
  const std::string missing = (m_tmp / "nope").string();
  expect_error(missing, "submit directory " + missing + " does not exist");
}

TEST_F(SubmitDirTest, CopiesLocalDirectoryKeepingSymlinksModesAndTimes) {
  const fs::path src = m_tmp / "src";
  write_file(src / "train.sh", "#!/bin/sh\n", true);
  write_file(src / "pkg/mod.py", "X = 1\n");
  fs::permissions(src / "pkg/mod.py", static_cast<fs::perms>(0600));
  fs::create_symlink("pkg/mod.py", src / "alias.py");
  fs::create_symlink("/etc/hostname", src / "absolute_link");
  fs::create_symlink("does/not/exist", src / "dangling");
  fs::create_directory(src / "empty_dir");
  fs::permissions(src / "empty_dir", static_cast<fs::perms>(0750));
  const struct timespec times[2] = {{1500000000, 0}, {1500000000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (src / "pkg").c_str(), times, 0), 0);
  ASSERT_EQ(utimensat(AT_FDCWD, (src / "train.sh").c_str(), times, 0), 0);
  const auto before = snapshot(src);

  ASSERT_TRUE(prepare_code_dir(src.string(), m_code));
  EXPECT_EQ(snapshot(src), before);     // source untouched
  EXPECT_EQ(snapshot(m_code), before);  // and reproduced exactly (modes, mtimes, links)
  EXPECT_TRUE(fs::is_symlink(m_code / "alias.py"));
  EXPECT_EQ(fs::read_symlink(m_code / "absolute_link"), "/etc/hostname");
}

TEST_F(SubmitDirTest, FileUriToLocalDirectory) {
  write_file(m_tmp / "my src/train.py", "x");
  ASSERT_TRUE(prepare_code_dir("file://" + (m_tmp / "my%20src").string(), m_code));
  EXPECT_EQ(read_file(m_code / "train.py"), "x");
}

TEST_F(SubmitDirTest, FileUriWithLocalhost) {
  write_file(m_tmp / "src/train.py", "x");
  ASSERT_TRUE(prepare_code_dir("file://localhost" + (m_tmp / "src").string(), m_code));
  EXPECT_EQ(read_file(m_code / "train.py"), "x");
}

TEST_F(SubmitDirTest, FileUriWithHostIsRejected) {
  expect_error("file://otherhost/tmp/src",
               "submit directory file://otherhost/tmp/src must be file:///absolute/path");
  expect_error("file://relative", "must be file:///absolute/path");
  expect_error("file:///tmp/bad%zz", "submit directory file:///tmp/bad%zz has an invalid %-escape");
}

TEST_F(SubmitDirTest, SubmitDirIsTheCodeDirItself) {
  ASSERT_TRUE(prepare_code_dir(m_code.string(), m_code));
  ASSERT_TRUE(prepare_code_dir(m_code.string() + "/", m_code));
  EXPECT_TRUE(fs::is_empty(m_code));
}

TEST_F(SubmitDirTest, CodeDirInsideSubmitDirIsRejected) {
  expect_error((m_tmp / "opt").string(), "code directory " + m_code.string() +
                                             " lies inside submit directory " +
                                             (m_tmp / "opt").string());
}

TEST_F(SubmitDirTest, ExtractsTarDetectedByContentNotName) {
  const fs::path archive = m_tmp / "sourcedir.bin";
  ASSERT_NO_FATAL_FAILURE(
      tar::build(archive, {tar::file("train.py", "print(1)"), tar::file("lib/a.py", "A")}));
  ASSERT_TRUE(prepare_code_dir(archive.string(), m_code));
  EXPECT_EQ(read_file(m_code / "train.py"), "print(1)");
  EXPECT_EQ(read_file(m_code / "lib/a.py"), "A");
  EXPECT_TRUE(fs::exists(archive));
}

TEST_F(SubmitDirTest, FileUriToTarball) {
  const fs::path archive = m_tmp / "sourcedir.tar.gz";
  ASSERT_NO_FATAL_FAILURE(tar::build(archive, {tar::file("train.py", "print(1)")}));
  ASSERT_TRUE(prepare_code_dir("file://" + archive.string(), m_code));
  EXPECT_EQ(read_file(m_code / "train.py"), "print(1)");
}

TEST_F(SubmitDirTest, HostileTarLeavesCodeDirEmpty) {
  const fs::path archive = m_tmp / "sourcedir.tar.gz";
  ASSERT_NO_FATAL_FAILURE(
      tar::build(archive, {tar::file("train.py", "x"), tar::file("../escape", "evil")}));
  expect_error(archive.string(), "member '../escape' contains a '..' component");
  EXPECT_FALSE(fs::exists(m_tmp / "opt/ml/escape"));
}

TEST_F(SubmitDirTest, OtherFileIsCopiedUnderItsName) {
  const fs::path file = m_tmp / "train.py.gz";  // a name that suggests an archive
  write_file(file, "not really gzip", true);
  const struct timespec times[2] = {{1500000000, 0}, {1500000000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, file.c_str(), times, 0), 0);
  ASSERT_TRUE(prepare_code_dir(file.string(), m_code));
  EXPECT_EQ(read_file(m_code / "train.py.gz"), "not really gzip");
  struct stat st {};
  ASSERT_EQ(stat((m_code / "train.py.gz").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(st.st_mtime, 1500000000);
}

TEST_F(SubmitDirTest, FifoInSourceDirFailsAndCleansUp) {
  const fs::path src = m_tmp / "src";
  write_file(src / "a/train.py", "x");
  ASSERT_EQ(mkfifo((src / "z_pipe").c_str(), 0644), 0);
  expect_error(src.string(), "cannot copy " + (src / "z_pipe").string() +
                                 " into the code directory: not a regular file, directory or "
                                 "symlink");
}

}  // namespace
}  // namespace smrun::code
