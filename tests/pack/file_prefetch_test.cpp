#include "smrun/pack/file_prefetch.hpp"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <string>

#include <fmt/format.h>

#include "pack/pack_fixture.hpp"
#include "smrun/pack/tree_listing.hpp"
#include "support/test_support.hpp"

namespace smrun::pack {
namespace {

namespace fs = std::filesystem;

// Content of file i: its own index and a length that varies from 0 to ~2 KiB.
std::string content_of(int i) {
  std::string s = fmt::format("file {}:", i);
  s.resize(static_cast<std::size_t>((i * 37) % 2048), static_cast<char>('a' + i % 26));
  return s;
}

// `count` small files over a few directories, plus two files past the prefetch limit.
void make_tree(const fs::path& root, int count) {
  for (int i = 0; i < count; ++i)
    test::write_file(root / fmt::format("d{}", i % 7) / fmt::format("f{:05}", i), content_of(i));
  test::write_file(root / "big-1.bin", std::string(100000, 'B'));
  test::write_file(root / "d3" / "big-2.bin", std::string(70000, 'C'));
}

std::string as_string(const FileContents& c) {
  return {reinterpret_cast<const char*>(c.bytes.get()), c.size};
}

// Whether this kernel lets the process use io_uring with what the prefetcher needs (fixed-file
// slots registered sparse: Linux 5.19). Asked of the kernel directly, not through the code under
// test, so a prefetcher that silently never uses its ring fails the test below.
bool kernel_offers_io_uring() {
  io_uring_params params{};
  const long fd = ::syscall(SYS_io_uring_setup, 4, &params);
  if (fd < 0) return false;
  ::close(static_cast<int>(fd));
  utsname u{};
  if (::uname(&u) != 0) return false;
  int major = 0;
  int minor = 0;
  if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
  return major > 5 || (major == 5 && minor >= 19);
}

// Parameter: whether the prefetcher may use io_uring. Every case runs both ways: where the ring
// is used, failures it meets must still be reported exactly as the plain calls report them.
class FilePrefetch : public ::testing::TestWithParam<bool> {};

TEST_P(FilePrefetch, HandsOverEveryCoveredFileInOrderWithItsExactContents) {
  test::TempDir tmp;
  make_tree(tmp / "root", 3000);
  auto listing = list_tree(tmp / "root");
  ASSERT_TRUE(listing) << listing.error().message;
  // A small window and more threads than cores: the workers keep hitting the window limit.
  FilePrefetcher prefetch(*listing, PrefetchOptions{3, 64 << 10, 8, GetParam()});
  int files = 0;
  int covered = 0;
  for (std::size_t i = 0; i < listing->entries.size(); ++i) {
    const TreeEntry& e = listing->entries[i];
    if (e.kind != EntryKind::kFile) {
      EXPECT_FALSE(prefetch.covers(i)) << e.name;
      continue;
    }
    ++files;
    if (e.name.find("big-") != std::string::npos) {
      EXPECT_FALSE(prefetch.covers(i)) << e.name;
      continue;
    }
    ASSERT_TRUE(prefetch.covers(i)) << e.name;
    auto c = prefetch.take(i);
    ASSERT_TRUE(c) << c.error().message;
    ++covered;
    const int index = std::stoi(e.name.substr(e.name.rfind('f') + 1));
    ASSERT_EQ(as_string(*c), content_of(index)) << e.name;
  }
  EXPECT_EQ(files, 3002);
  EXPECT_EQ(covered, 3000);
  if (!GetParam()) {
    EXPECT_EQ(prefetch.files_read_by_ring(), 0u);
  } else if (kernel_offers_io_uring()) {
    EXPECT_EQ(prefetch.files_read_by_ring(), 3000u);
  }
}

TEST_P(FilePrefetch, AChunkSpanningManyDirectoriesReadsEachFileFromItsOwn) {
  test::TempDir tmp;
  // One file per directory: every chunk of files needs a directory of its own per file.
  for (int i = 0; i < 300; ++i)
    test::write_file(tmp / "root" / fmt::format("d{:03}", i) / "f", content_of(i));
  auto listing = list_tree(tmp / "root");
  ASSERT_TRUE(listing) << listing.error().message;
  FilePrefetcher prefetch(*listing, PrefetchOptions{2, 64 << 10, 512, GetParam()});
  int covered = 0;
  for (std::size_t i = 0; i < listing->entries.size(); ++i) {
    if (!prefetch.covers(i)) continue;
    auto c = prefetch.take(i);
    ASSERT_TRUE(c) << c.error().message;
    const std::string& name = listing->entries[i].name;
    ASSERT_EQ(as_string(*c), content_of(std::stoi(name.substr(1, 3)))) << name;
    ++covered;
  }
  EXPECT_EQ(covered, 300);
}

TEST_P(FilePrefetch, AFileThatShrankIsAnErrorNamingIt) {
  test::TempDir tmp;
  make_tree(tmp / "root", 100);
  auto listing = list_tree(tmp / "root");
  ASSERT_TRUE(listing);
  std::size_t shrunk = 0;
  for (std::size_t i = 0; i < listing->entries.size(); ++i)
    if (listing->entries[i].name == "d1/f00008") shrunk = i;
  ASSERT_GT(shrunk, 0u);
  test::write_file(tmp / "root" / "d1" / "f00008", "x");
  FilePrefetcher prefetch(*listing, PrefetchOptions{2, 64 << 10, 4, GetParam()});
  for (std::size_t i = 0; i < shrunk; ++i) {
    if (prefetch.covers(i)) {
      ASSERT_TRUE(prefetch.take(i)) << listing->entries[i].name;
    }
  }
  auto a = prefetch.take(shrunk);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().message,
            fmt::format("cannot read {}: file shrank from {} bytes while being "
                        "packed",
                        (tmp / "root" / "d1" / "f00008").string(), content_of(8).size()));
}

TEST_P(FilePrefetch, AVanishedFileIsAnErrorNamingIt) {
  test::TempDir tmp;
  make_tree(tmp / "root", 100);
  auto listing = list_tree(tmp / "root");
  ASSERT_TRUE(listing);
  fs::remove(tmp / "root" / "d0" / "f00000");
  FilePrefetcher prefetch(*listing, PrefetchOptions{2, 64 << 10, 4, GetParam()});
  std::size_t first = 0;
  while (!prefetch.covers(first)) ++first;
  ASSERT_EQ(listing->entries[first].name, "d0/f00000");
  auto c = prefetch.take(first);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "cannot read " + (tmp / "root" / "d0" / "f00000").string() +
                                   ": No such file or directory");
}

TEST_P(FilePrefetch, TakingOutOfOrderIsRefused) {
  test::TempDir tmp;
  make_tree(tmp / "root", 50);
  auto listing = list_tree(tmp / "root");
  ASSERT_TRUE(listing);
  FilePrefetcher prefetch(*listing, PrefetchOptions{2, 64 << 10, 4, GetParam()});
  std::size_t second = 0;
  int seen = 0;
  for (std::size_t i = 0; i < listing->entries.size(); ++i)
    if (prefetch.covers(i) && ++seen == 2) second = i;
  auto c = prefetch.take(second);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind, base::ErrorKind::kInternal);
}

TEST_P(FilePrefetch, StoppingEarlyReleasesWorkersWaitingOnTheWindow) {
  test::TempDir tmp;
  make_tree(tmp / "root", 2000);
  auto listing = list_tree(tmp / "root");
  ASSERT_TRUE(listing);
  for (int round = 0; round < 20; ++round) {
    FilePrefetcher prefetch(*listing, PrefetchOptions{4, 64 << 10, 2, GetParam()});
    std::size_t first = 0;
    while (!prefetch.covers(first)) ++first;
    ASSERT_TRUE(prefetch.take(first));
    // Destroyed here with 1999 files not taken: must return (the test would hang otherwise).
  }
}

// Docker's default seccomp profile answers io_uring_setup with EPERM. A child process installs
// such a filter, then prefetches a whole tree: every file must come through plain calls, intact.
TEST(FilePrefetchUnderSeccomp, AKernelThatRefusesIoUringGetsPlainCallsWithTheSameContents) {
  test::TempDir tmp;
  make_tree(tmp / "root", 500);
  auto listing = list_tree(tmp / "root");
  ASSERT_TRUE(listing);
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(out[0]);
    // Allow everything but io_uring_setup, which fails with EPERM (x86-64 numbers).
    sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(std::size(code)), code};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
      ::_exit(90);
    FilePrefetcher prefetch(*listing, PrefetchOptions{2, 64 << 10, 64, true});
    std::string report;
    for (std::size_t i = 0; i < listing->entries.size(); ++i) {
      if (!prefetch.covers(i)) continue;
      auto c = prefetch.take(i);
      const std::string& name = listing->entries[i].name;
      const int index = std::stoi(name.substr(name.rfind('f') + 1));
      report += (c && as_string(*c) == content_of(index)) ? "." : "x";
    }
    report += fmt::format(" ring={}", prefetch.files_read_by_ring());
    if (::write(out[1], report.data(), report.size()) != static_cast<ssize_t>(report.size()))
      ::_exit(91);
    ::_exit(0);
  }
  ::close(out[1]);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;)
    got.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(got, std::string(500, '.') + " ring=0");
}

INSTANTIATE_TEST_SUITE_P(RingOrPlain, FilePrefetch, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "IoUring" : "PlainCalls";
                         });

}  // namespace
}  // namespace smrun::pack
