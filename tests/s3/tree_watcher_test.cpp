// The inotify side of the intermediate output sync, without S3: which files count as finished
// (closed after writing, renamed or moved in, found in new directories), which never do
// (deleted, still open, in the excluded staging directory, behind a symbolic link), and that new,
// moved-in and moved-around directories are watched under their current names.
//
// "Not reported" is checked with a marker: inotify reports events in order, so once a file
// written after the action is reported, anything the action caused would have been too.

#include "smrun/s3/tree_watcher.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "support/test_support.hpp"

namespace smrun::s3 {
namespace {

using namespace std::chrono_literals;
using test::TempDir;
using test::write_file;
namespace fs = std::filesystem;

constexpr auto kEventLimit = 10s;

std::string joined(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return "{" + out + "}";
}

// Reads events until every path of `expected` was reported (or kEventLimit passed); returns all
// that were reported meanwhile.
std::set<std::string> collect(TreeWatcher& watcher, const std::set<std::string>& expected) {
  std::set<std::string> seen;
  const auto deadline = std::chrono::steady_clock::now() + kEventLimit;
  while (!std::includes(seen.begin(), seen.end(), expected.begin(), expected.end()) &&
         std::chrono::steady_clock::now() < deadline) {
    TreeEvents events = watcher.wait(100ms);
    seen.insert(events.finished.begin(), events.finished.end());
  }
  return seen;
}

// collect() that fails the test, naming what it waited for, when something never came.
std::set<std::string> expect_reported(TreeWatcher& watcher, const std::set<std::string>& expected) {
  std::set<std::string> seen = collect(watcher, expected);
  EXPECT_TRUE(std::includes(seen.begin(), seen.end(), expected.begin(), expected.end()))
      << "waited " << kEventLimit.count() << " s for finished-file events of " << joined(expected)
      << "; reported: " << joined(seen);
  return seen;
}

// Writes a marker file and reads events until it is reported: returns everything reported
// before it (and the marker).
std::set<std::string> reported_up_to_marker(TreeWatcher& watcher, const fs::path& root,
                                            const std::string& marker = "marker") {
  write_file(root / marker, "m");
  return expect_reported(watcher, {marker});
}

std::unique_ptr<TreeWatcher> open_watcher(const fs::path& root,
                                          std::vector<std::string> excluded = {}) {
  auto watcher = TreeWatcher::open(root, {.excluded = std::move(excluded)});
  EXPECT_TRUE(watcher) << watcher.error().message;
  return watcher ? std::move(*watcher) : nullptr;
}

TEST(TreeWatcher, AFileIsReportedWhenClosedAfterWriting) {
  TempDir tmp;
  auto watcher = open_watcher(tmp.path());
  ASSERT_TRUE(watcher);
  write_file(tmp / "a.txt", "hello");
  expect_reported(*watcher, {"a.txt"});
}

TEST(TreeWatcher, AFileStillOpenIsNotReportedUntilItIsClosed) {
  TempDir tmp;
  auto watcher = open_watcher(tmp.path());
  ASSERT_TRUE(watcher);
  const int fd = ::open((tmp / "open.bin").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "partial", 7), 7);
  EXPECT_EQ(reported_up_to_marker(*watcher, tmp.path()).count("open.bin"), 0u);
  ::close(fd);
  expect_reported(*watcher, {"open.bin"});
}

TEST(TreeWatcher, AFileRenamedIntoPlaceIsReported) {
  TempDir tmp;
  const fs::path root = tmp / "root";
  fs::create_directories(root);
  auto watcher = open_watcher(root);
  ASSERT_TRUE(watcher);
  // Written elsewhere, renamed in: only IN_MOVED_TO says it is there.
  write_file(tmp / "outside.tmp", "v1");
  fs::rename(tmp / "outside.tmp", root / "model.pt");
  // The usual atomic save: a temporary file beside the target, then rename() over it.
  write_file(root / ".ckpt.tmp", "v2");
  fs::rename(root / ".ckpt.tmp", root / "ckpt.pt");
  expect_reported(*watcher, {"model.pt", "ckpt.pt"});
}

TEST(TreeWatcher, FilesInNewNestedDirectoriesAreReported) {
  TempDir tmp;
  auto watcher = open_watcher(tmp.path());
  ASSERT_TRUE(watcher);
  fs::create_directories(tmp / "epoch-1" / "shard-0" / "deep");
  write_file(tmp / "epoch-1" / "shard-0" / "deep" / "w.bin", "weights");
  write_file(tmp / "epoch-1" / "log.txt", "log");
  expect_reported(*watcher, {"epoch-1/shard-0/deep/w.bin", "epoch-1/log.txt"});
  // The new directories are watched from now on.
  write_file(tmp / "epoch-1" / "shard-0" / "later.bin", "later");
  expect_reported(*watcher, {"epoch-1/shard-0/later.bin"});
  EXPECT_EQ(watcher->watched_directories(), 4u);
}

TEST(TreeWatcher, FilesWrittenBeforeANewDirectoryIsWatchedAreFoundByItsScan) {
  TempDir tmp;
  auto watcher = open_watcher(tmp.path());
  ASSERT_TRUE(watcher);
  // Nothing reads events meanwhile, so "d" has no watch yet when its files are written: only
  // the scan made right after adding the watch can find them.
  fs::create_directories(tmp / "d" / "e");
  write_file(tmp / "d" / "early.txt", "early");
  write_file(tmp / "d" / "e" / "earlier.txt", "earlier");
  expect_reported(*watcher, {"d/early.txt", "d/e/earlier.txt"});
}

TEST(TreeWatcher, ADirectoryMovedInIsScannedAndWatched) {
  TempDir tmp;
  const fs::path root = tmp / "root";
  fs::create_directories(root);
  auto watcher = open_watcher(root);
  ASSERT_TRUE(watcher);
  fs::create_directories(tmp / "built" / "inner");
  write_file(tmp / "built" / "a.txt", "a");
  write_file(tmp / "built" / "inner" / "b.txt", "b");
  fs::rename(tmp / "built", root / "moved");
  expect_reported(*watcher, {"moved/a.txt", "moved/inner/b.txt"});
  write_file(root / "moved" / "inner" / "c.txt", "c");
  expect_reported(*watcher, {"moved/inner/c.txt"});
}

TEST(TreeWatcher, ADirectoryMovedWithinTheTreeIsReportedUnderItsNewName) {
  TempDir tmp;
  auto watcher = open_watcher(tmp.path());
  ASSERT_TRUE(watcher);
  fs::create_directories(tmp / "a" / "sub");
  write_file(tmp / "a" / "sub" / "x", "x");
  expect_reported(*watcher, {"a/sub/x"});
  fs::rename(tmp / "a", tmp / "b");
  // Its files are reported again under the new name, and later files too.
  expect_reported(*watcher, {"b/sub/x"});
  write_file(tmp / "b" / "sub" / "y", "y");
  const auto seen = expect_reported(*watcher, {"b/sub/y"});
  EXPECT_EQ(seen.count("a/sub/y"), 0u);
}

TEST(TreeWatcher, ADirectoryMovedOutIsForgotten) {
  TempDir tmp;
  const fs::path root = tmp / "root";
  fs::create_directories(root / "gone");
  auto watcher = open_watcher(root);
  ASSERT_TRUE(watcher);
  EXPECT_EQ(watcher->watched_directories(), 2u);
  fs::rename(root / "gone", tmp / "elsewhere");
  write_file(tmp / "elsewhere" / "x.txt", "x");
  const auto seen = reported_up_to_marker(*watcher, root);
  EXPECT_EQ(seen.count("gone/x.txt"), 0u) << joined(seen);
  EXPECT_EQ(watcher->watched_directories(), 1u);
}

TEST(TreeWatcher, DeletionsAreNotReportedAndAnEmptyClosedFileIs) {
  TempDir tmp;
  write_file(tmp / "old.txt", "old");
  auto watcher = open_watcher(tmp.path());
  ASSERT_TRUE(watcher);
  fs::remove(tmp / "old.txt");
  std::ofstream(tmp / "never-written.txt").close();  // opened for writing, closed: IN_CLOSE_WRITE
  const auto seen = reported_up_to_marker(*watcher, tmp.path());
  EXPECT_EQ(seen.count("old.txt"), 0u);
  EXPECT_EQ(seen, (std::set<std::string>{"never-written.txt", "marker"}));
}

TEST(TreeWatcher, AHardLinkIsReportedAtOnce) {
  TempDir tmp;
  const fs::path root = tmp / "root";
  fs::create_directories(root);
  write_file(tmp / "saved.bin", "saved");
  auto watcher = open_watcher(root);
  ASSERT_TRUE(watcher);
  fs::create_hard_link(tmp / "saved.bin", root / "linked.bin");
  expect_reported(*watcher, {"linked.bin"});
}

TEST(TreeWatcher, TheExcludedDirectoryIsNeitherWatchedNorReported) {
  TempDir tmp;
  fs::create_directories(tmp / ".staging");
  auto watcher = open_watcher(tmp.path(), {".staging"});
  ASSERT_TRUE(watcher);
  EXPECT_EQ(watcher->watched_directories(), 1u);
  write_file(tmp / ".staging" / "0.1", "copy");
  fs::create_directories(tmp / ".staging" / "sub");
  write_file(tmp / ".staging" / "sub" / "x", "x");
  // A name that merely starts like it is not excluded.
  write_file(tmp / ".staging2", "kept");
  const auto seen = reported_up_to_marker(*watcher, tmp.path());
  EXPECT_EQ(seen, (std::set<std::string>{".staging2", "marker"}));
  EXPECT_EQ(watcher->watched_directories(), 1u);
  EXPECT_EQ(watcher->scan(), (std::vector<std::string>{".staging2", "marker"}));
}

TEST(TreeWatcher, SymbolicLinksAreNotFollowed) {
  TempDir tmp;
  const fs::path root = tmp / "root";
  fs::create_directories(root);
  fs::create_directories(tmp / "outside");
  write_file(tmp / "outside" / "secret", "s");
  auto watcher = open_watcher(root);
  ASSERT_TRUE(watcher);
  fs::create_directory_symlink(tmp / "outside", root / "link");
  fs::create_symlink(tmp / "outside" / "secret", root / "file-link");
  write_file(tmp / "outside" / "written-through", "w");
  write_file(root / "link" / "via-link", "v");  // lands in outside/
  const auto seen = reported_up_to_marker(*watcher, root);
  EXPECT_EQ(seen, (std::set<std::string>{"marker"}));
  EXPECT_EQ(watcher->scan(), (std::vector<std::string>{"marker"}));
  EXPECT_EQ(list_regular_files(root), (std::vector<std::string>{"marker"}));
}

TEST(TreeWatcher, ScanListsRegularFilesRecursivelyAndSorted) {
  TempDir tmp;
  fs::create_directories(tmp / "b" / "c");
  fs::create_directories(tmp / "skip" / "x");
  write_file(tmp / "b" / "c" / "z", "z");
  write_file(tmp / "b" / "a", "a");
  write_file(tmp / "top", "t");
  write_file(tmp / "skip" / "x" / "hidden", "h");
  ::mkfifo((tmp / "fifo").c_str(), 0600);
  const std::vector<std::string> expected = {"b/a", "b/c/z", "top"};
  EXPECT_EQ(list_regular_files(tmp.path(), {"skip"}), expected);
  auto watcher = open_watcher(tmp.path(), {"skip"});
  ASSERT_TRUE(watcher);
  EXPECT_EQ(watcher->scan(), expected);
  EXPECT_EQ(watcher->watched_directories(), 3u);  // root, b, b/c
}

TEST(TreeWatcher, WakeEndsAWaitWithoutTimeLimit) {
  TempDir tmp;
  auto watcher = open_watcher(tmp.path());
  ASSERT_TRUE(watcher);
  watcher->wake();  // before the wait: it returns at once
  EXPECT_TRUE(watcher->wait(-1ms).woken);
  std::thread waker([&] { watcher->wake(); });
  const TreeEvents events = watcher->wait(-1ms);  // returns only through wake()
  waker.join();
  EXPECT_TRUE(events.woken);
  EXPECT_TRUE(events.finished.empty());
}

TEST(TreeWatcher, AnOverflowedQueueIsReportedAndAScanCatchesUp) {
  TempDir tmp;
  auto watcher = open_watcher(tmp.path());
  ASSERT_TRUE(watcher);
  long limit = 16384;
  std::ifstream("/proc/sys/fs/inotify/max_queued_events") >> limit;
  if (limit > 100'000) GTEST_SKIP() << "max_queued_events is " << limit;
  const long files = limit + 10;
  for (long i = 0; i < files; ++i) write_file(tmp / ("f" + std::to_string(i)), "x");
  const TreeEvents events = watcher->wait(0ms);
  EXPECT_TRUE(events.overflowed);
  EXPECT_EQ(static_cast<long>(watcher->scan().size()), files);
}

TEST(TreeWatcher, OpeningAMissingRootIsAnErrorNamingIt) {
  TempDir tmp;
  auto watcher = TreeWatcher::open(tmp / "missing");
  ASSERT_FALSE(watcher);
  EXPECT_NE(watcher.error().message.find((tmp / "missing").string()), std::string::npos)
      << watcher.error().message;
}

}  // namespace
}  // namespace smrun::s3
