#include "smrun/pack/pack.hpp"

#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sched.h>

#include <fmt/format.h>
#include <sys/mount.h>

#include "pack/pack_fixture.hpp"
#include "support/test_support.hpp"

namespace smrun::pack {
namespace {

namespace fs = std::filesystem;
using namespace smrun::pack::testing;
using fs::perms;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr perms k644 =
    perms::owner_read | perms::owner_write | perms::group_read | perms::others_read;
constexpr perms k755 = perms::owner_all | perms::group_read | perms::group_exec |
                       perms::others_read | perms::others_exec;
constexpr perms k600 = perms::owner_read | perms::owner_write;
constexpr perms k750 = perms::owner_all | perms::group_read | perms::group_exec;

// A small model directory exercising every kind of entry and the sort rule ("B" < "a" < "a-b" <
// "a.txt" byte-wise; "a/" and its contents come right after "a").
void make_model(const fs::path& m) {
  make_dir(m, k755);
  make_file(m / "weights.bin", std::string("\x00\x01\x02\xff", 4) + "weights", k644);
  make_file(m / "config.json", "{\"hidden\": 8}\n", k600, kMtime + 1);
  make_file(m / "run.sh", "#!/bin/sh\necho hi\n", k755, kMtime + 2);
  make_file(m / "B.txt", "upper\n", k644);
  make_file(m / "a-b.txt", "dash\n", k644);
  make_file(m / "a.txt", "dot\n", k644);
  make_dir(m / "a", k750, kMtime + 3);
  make_file(m / "a" / "x", "", k644);   // empty file
  make_dir(m / "a", k750, kMtime + 3);  // re-stamp: creating x changed it
  make_dir(m / "empty", k755, kMtime + 4);
  make_dir(m / "sub" / "deeper", k755, kMtime + 5);
  make_file(m / "sub" / "deeper" / "leaf.txt", "leaf\n", k644);
  make_symlink("../weights.bin", m / "sub" / "link");
  make_symlink("missing-target", m / "sub" / "dangling");
  set_mtime(m / "sub" / "deeper", kMtime + 5);
  set_mtime(m / "sub", kMtime + 6);
  make_symlink("sub", m / "link_to_dir");  // must not be followed into sub/
  set_mtime(m, kMtime);
}

const std::vector<std::string> kExpectedOrder = {"B.txt",
                                                 "a/",
                                                 "a/x",
                                                 "a-b.txt",
                                                 "a.txt",
                                                 "config.json",
                                                 "empty/",
                                                 "link_to_dir",
                                                 "run.sh",
                                                 "sub/",
                                                 "sub/dangling",
                                                 "sub/deeper/",
                                                 "sub/deeper/leaf.txt",
                                                 "sub/link",
                                                 "weights.bin"};

PackOptions small_blocks(unsigned threads = 2) {
  PackOptions o;
  o.threads = threads;
  o.block_size = 64 * 1024;
  return o;
}

// Progress reports: the expected total (a 512-byte header per entry, contents padded to 512),
// bytes that only grow and never pass it; none at all for a pack shorter than the interval.
TEST(PackDirectory, ProgressCountsTowardsTheExpectedTotal) {
  test::TempDir tmp;
  test::write_file(tmp / "model" / "a.bin", std::string(3 << 20, 'a'));
  test::write_file(tmp / "model" / "sub" / "b.txt", std::string(1000, 'b'));
  std::vector<PackProgress> seen;
  PackOptions options;
  options.progress_interval = std::chrono::milliseconds(0);
  options.on_progress = [&](const PackProgress& p) { seen.push_back(p); };
  auto r = pack_directory(tmp / "model", tmp / "m.tar.gz", options);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_GE(seen.size(), 2u);
  const std::uint64_t total = 3 * 512 + (3u << 20) + 1024;  // a.bin, sub/, sub/b.txt
  std::uint64_t last = 0;
  for (const auto& p : seen) {
    EXPECT_EQ(p.bytes_total, total);
    EXPECT_GE(p.bytes_done, last);
    EXPECT_LE(p.bytes_done, total);
    last = p.bytes_done;
  }
  EXPECT_GE(last, 3u << 20);

  seen.clear();
  options.progress_interval = std::chrono::hours(1);
  ASSERT_TRUE(pack_directory(tmp / "model", tmp / "m2.tar.gz", options).has_value());
  EXPECT_TRUE(seen.empty());
}

TEST(PackDirectory, GnuTarListsEntriesInSortedOrderWithRelativeNames) {
  test::TempDir tmp;
  make_model(tmp / "model");
  auto r = pack_directory(tmp / "model", tmp / "model.tar.gz");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(gnu_tar_names(tmp / "model.tar.gz"), kExpectedOrder);
  EXPECT_EQ(r->files, kExpectedOrder.size());
  EXPECT_EQ(r->bytes_in, 11u + 14 + 18 + 6 + 5 + 4 + 0 + 5);
  EXPECT_EQ(r->bytes_out, fs::file_size(tmp / "model.tar.gz"));
  EXPECT_TRUE(r->skipped.empty());
}

TEST(PackDirectory, PythonTarfileSeesExactMetadata) {
  test::TempDir tmp;
  make_model(tmp / "model");
  ASSERT_TRUE(pack_directory(tmp / "model", tmp / "model.tar.gz"));
  const std::string t = std::to_string(kMtime);
  auto at = [](int d) { return std::to_string(kMtime + d); };
  EXPECT_THAT(
      python_members(tmp / "model.tar.gz"),
      ElementsAre("B.txt file mode=0644 uid=0 gid=0 uname='' gname='' mtime=" + t +
                      " size=6 link='' data=b'upper\\n'",
                  "a dir mode=0750 uid=0 gid=0 uname='' gname='' mtime=" + at(3) +
                      " size=0 link='' data=b''",
                  "a/x file mode=0644 uid=0 gid=0 uname='' gname='' mtime=" + t +
                      " size=0 link='' data=b''",
                  "a-b.txt file mode=0644 uid=0 gid=0 uname='' gname='' mtime=" + t +
                      " size=5 link='' data=b'dash\\n'",
                  "a.txt file mode=0644 uid=0 gid=0 uname='' gname='' mtime=" + t +
                      " size=4 link='' data=b'dot\\n'",
                  "config.json file mode=0600 uid=0 gid=0 uname='' gname='' mtime=" + at(1) +
                      " size=14 link='' data=b'{\"hidden\": 8}\\n'",
                  "empty dir mode=0755 uid=0 gid=0 uname='' gname='' mtime=" + at(4) +
                      " size=0 link='' data=b''",
                  "link_to_dir link mode=0777 uid=0 gid=0 uname='' gname='' mtime=" + t +
                      " size=0 link='sub' data=b''",
                  "run.sh file mode=0755 uid=0 gid=0 uname='' gname='' mtime=" + at(2) +
                      " size=18 link='' data=b'#!/bin/sh\\necho hi\\n'",
                  "sub dir mode=0755 uid=0 gid=0 uname='' gname='' mtime=" + at(6) +
                      " size=0 link='' data=b''",
                  "sub/dangling link mode=0777 uid=0 gid=0 uname='' gname='' mtime=" + t +
                      " size=0 link='missing-target' data=b''",
                  "sub/deeper dir mode=0755 uid=0 gid=0 uname='' gname='' mtime=" + at(5) +
                      " size=0 link='' data=b''",
                  "sub/deeper/leaf.txt file mode=0644 uid=0 gid=0 uname='' gname='' mtime=" + t +
                      " size=5 link='' data=b'leaf\\n'",
                  "sub/link link mode=0777 uid=0 gid=0 uname='' gname='' mtime=" + t +
                      " size=0 link='../weights.bin' data=b''",
                  "weights.bin file mode=0644 uid=0 gid=0 uname='' gname='' mtime=" + t +
                      " size=11 link='' data=b'\\x00\\x01\\x02\\xffweights'"));
}

TEST(PackDirectory, GnuTarExtractionReproducesTheTree) {
  test::TempDir tmp;
  make_model(tmp / "model");
  ASSERT_TRUE(pack_directory(tmp / "model", tmp / "model.tar.gz", small_blocks()));
  fs::create_directory(tmp / "x");
  auto r =
      run({"/usr/bin/tar", "-xzf", (tmp / "model.tar.gz").string(), "-C", (tmp / "x").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // no warnings (e.g. about unknown pax keywords)
  // Symlink mtimes are left out: whether tar restores them is tar's business, and python
  // checks the stored value above.
  EXPECT_EQ(snapshot(tmp / "x", false), snapshot(tmp / "model", false));
}

TEST(PackDirectory, PythonExtractionReproducesTheTree) {
  test::TempDir tmp;
  make_model(tmp / "model");
  ASSERT_TRUE(pack_directory(tmp / "model", tmp / "model.tar.gz"));
  auto r = run({"/usr/bin/python3", "-c",
                "import sys, tarfile\n"
                "tarfile.open(sys.argv[1]).extractall(sys.argv[2])\n",
                (tmp / "model.tar.gz").string(), (tmp / "x").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Python's extractall stamps directories before their contents land, so compare directory
  // mtimes out; file and link contents, modes and file mtimes must match exactly.
  auto strip_dir_mtime = [](std::map<std::string, std::string> m) {
    for (auto& [k, v] : m)
      if (v.rfind("dir", 0) == 0) v = v.substr(0, v.find(" mtime="));
    return m;
  };
  EXPECT_EQ(strip_dir_mtime(snapshot(tmp / "x", false)),
            strip_dir_mtime(snapshot(tmp / "model", false)));
}

TEST(PackDirectory, SourceTreeIsNotModified) {
  test::TempDir tmp;
  make_model(tmp / "model");
  const auto before = snapshot(tmp / "model");
  ASSERT_TRUE(pack_directory(tmp / "model", tmp / "model.tar.gz"));
  EXPECT_EQ(snapshot(tmp / "model"), before);
}

TEST(PackDirectory, EmptyModelDirectoryGivesAValidEmptyArchive) {
  test::TempDir tmp;
  fs::create_directory(tmp / "model");
  auto r = pack_directory(tmp / "model", tmp / "model.tar.gz");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->files, 0u);
  EXPECT_TRUE(gnu_tar_names(tmp / "model.tar.gz").empty());
  EXPECT_TRUE(python_members(tmp / "model.tar.gz").empty());
  auto gz = run({"/usr/bin/gzip", "-t", (tmp / "model.tar.gz").string()});
  EXPECT_EQ(gz.exit_code, 0) << gz.err;
  std::string tar;
  EXPECT_EQ(count_gzip_members(test::read_file(tmp / "model.tar.gz"), &tar), 1u);
  EXPECT_EQ(tar, std::string(10240, '\0'));  // end-of-archive blocks, padded to one record
}

TEST(PackDirectory, LargeFileSpansManyMembersAndSurvivesExtraction) {
  test::TempDir tmp;
  // 6 MiB with some structure (compressible, unlike /dev/urandom) and no period matching the
  // block size, so a misplaced or repeated block would change the content.
  std::string big(6 * 1024 * 1024 + 12345, '\0');
  std::uint32_t x = 12345;
  for (std::size_t i = 0; i < big.size(); ++i) {
    x = x * 1103515245u + 12345u;
    big[i] = static_cast<char>((x >> 16) % 16 + 'a');
  }
  make_dir(tmp / "model", k755);
  make_file(tmp / "model" / "big.bin", big, k644);
  make_file(tmp / "model" / "small.txt", "after the big one\n", k644);
  auto r = pack_directory(tmp / "model", tmp / "model.tar.gz", small_blocks(3));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->bytes_in, big.size() + 18);

  std::string tar;
  const std::size_t members = count_gzip_members(test::read_file(tmp / "model.tar.gz"), &tar);
  EXPECT_EQ(members, (tar.size() + 65535) / 65536);
  EXPECT_GE(members, 96u);
  auto gz = run({"/usr/bin/gzip", "-t", (tmp / "model.tar.gz").string()});
  EXPECT_EQ(gz.exit_code, 0) << gz.err;

  fs::create_directory(tmp / "x");
  auto x_run =
      run({"/usr/bin/tar", "-xzf", (tmp / "model.tar.gz").string(), "-C", (tmp / "x").string()});
  ASSERT_EQ(x_run.exit_code, 0) << x_run.err;
  EXPECT_TRUE(test::read_file(tmp / "x" / "big.bin") == big);
  EXPECT_EQ(test::read_file(tmp / "x" / "small.txt"), "after the big one\n");
}

TEST(PackDirectory, OutputDoesNotDependOnThreadCount) {
  test::TempDir tmp;
  make_model(tmp / "model");
  make_file(tmp / "model" / "weights.bin", std::string(300000, 'w') + "end", k644);
  ASSERT_TRUE(pack_directory(tmp / "model", tmp / "one.tar.gz", small_blocks(1)));
  ASSERT_TRUE(pack_directory(tmp / "model", tmp / "four.tar.gz", small_blocks(4)));
  EXPECT_TRUE(test::read_file(tmp / "one.tar.gz") == test::read_file(tmp / "four.tar.gz"));
}

TEST(PackDirectory, SkipsFifosAndReportsThem) {
  test::TempDir tmp;
  make_dir(tmp / "model", k755);
  make_file(tmp / "model" / "a.txt", "a", k644);
  ASSERT_EQ(::mkfifo((tmp / "model" / "pipe").c_str(), 0644), 0);
  make_dir(tmp / "model" / "sub", k755);
  ASSERT_EQ(::mkfifo((tmp / "model" / "sub" / "p2").c_str(), 0644), 0);
  auto r = pack_directory(tmp / "model", tmp / "model.tar.gz");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_THAT(r->skipped, ElementsAre("pipe", "sub/p2"));
  EXPECT_EQ(gnu_tar_names(tmp / "model.tar.gz"), (std::vector<std::string>{"a.txt", "sub/"}));
}

TEST(PackDirectory, ExistingOutputIsReplacedAndNoTemporaryRemains) {
  test::TempDir tmp;
  make_model(tmp / "model");
  fs::create_directory(tmp / "out");
  test::write_file(tmp / "out" / "model.tar.gz", "old content");
  ASSERT_TRUE(pack_directory(tmp / "model", tmp / "out" / "model.tar.gz"));
  EXPECT_EQ(gnu_tar_names(tmp / "out" / "model.tar.gz"), kExpectedOrder);
  EXPECT_THAT(dir_names(tmp / "out"), ElementsAre("model.tar.gz"));
}

TEST(PackDirectory, FailedPackLeavesExistingOutputAlone) {
  test::TempDir tmp;
  fs::create_directory(tmp / "out");
  test::write_file(tmp / "out" / "model.tar.gz", "old content");
  auto r = pack_directory(tmp / "no-such-model", tmp / "out" / "model.tar.gz");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, base::ErrorKind::kPack);
  EXPECT_EQ(r.error().message,
            "cannot read " + (tmp / "no-such-model").string() + ": No such file or directory");
  EXPECT_EQ(test::read_file(tmp / "out" / "model.tar.gz"), "old content");
  EXPECT_THAT(dir_names(tmp / "out"), ElementsAre("model.tar.gz"));
}

TEST(PackDirectory, MissingDestinationDirectoryIsAClearError) {
  test::TempDir tmp;
  make_model(tmp / "model");
  auto r = pack_directory(tmp / "model", tmp / "nope" / "model.tar.gz");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, base::ErrorKind::kPack);
  EXPECT_EQ(r.error().message, "cannot write " + (tmp / "nope" / "model.tar.gz").string() +
                                   ": directory " + (tmp / "nope").string() + " does not exist");
  EXPECT_THAT(dir_names(tmp.path()), ElementsAre("model"));
}

TEST(PackDirectory, OutputThatIsADirectoryIsAnError) {
  test::TempDir tmp;
  make_model(tmp / "model");
  fs::create_directory(tmp / "model.tar.gz");
  auto r = pack_directory(tmp / "model", tmp / "model.tar.gz");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "cannot write " + (tmp / "model.tar.gz").string() + ": it is a directory");
  EXPECT_TRUE(dir_names(tmp / "model.tar.gz").empty());
  EXPECT_THAT(dir_names(tmp.path()), ElementsAre("model", "model.tar.gz"));
}

TEST(PackDirectory, OutputInsideTheSourceIsRefused) {
  test::TempDir tmp;
  make_model(tmp / "model");
  const auto before = snapshot(tmp / "model");
  auto r = pack_directory(tmp / "model", tmp / "model" / "sub" / "model.tar.gz");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("is inside the directory being packed"));
  EXPECT_EQ(snapshot(tmp / "model"), before);
}

TEST(PackDirectory, SourceThatIsAFileIsAnError) {
  test::TempDir tmp;
  test::write_file(tmp / "file", "x");
  auto r = pack_directory(tmp / "file", tmp / "model.tar.gz");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "cannot pack " + (tmp / "file").string() + ": not a directory");
  EXPECT_THAT(dir_names(tmp.path()), ElementsAre("file"));
}

TEST(PackDirectory, CompressionLevelOutOfRangeIsAnError) {
  test::TempDir tmp;
  fs::create_directory(tmp / "model");
  PackOptions o;
  o.level = 13;
  auto r = pack_directory(tmp / "model", tmp / "model.tar.gz", o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "compression level 13 is out of range, expected 0..12");
}

TEST(PackDirectory, EveryLevelProducesAReadableArchive) {
  test::TempDir tmp;
  make_model(tmp / "model");
  for (int level : {0, 1, 6, 9, 12}) {
    PackOptions o;
    o.level = level;
    const fs::path out = tmp / fmt::format("l{}.tar.gz", level);
    ASSERT_TRUE(pack_directory(tmp / "model", out, o)) << level;
    EXPECT_EQ(gnu_tar_names(out), kExpectedOrder) << level;
  }
}

// Root reads everything, so an unreadable file needs a process without root's privileges: the
// pack runs in a forked child that switches to nobody.
ChildResult pack_as_nobody(const fs::path& dir, const fs::path& out) {
  return run_in_child([&]() -> std::string {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)
      return "setuid failed";
    auto r = pack_directory(dir, out);
    return r ? std::string("ok") : r.error().message;
  });
}

TEST(PackDirectory, UnreadableFileIsAnErrorNamingItAndLeavesNothing) {
  test::TempDir tmp;
  fs::permissions(tmp.path(), k755);
  make_model(tmp / "model");
  fs::permissions(tmp / "model" / "a", k755);  // everything else readable by nobody
  fs::permissions(tmp / "model" / "config.json", k644);
  make_file(tmp / "model" / "sub" / "secret.bin", "secret", perms::none);
  make_dir(tmp / "out", perms::all);
  auto child = pack_as_nobody(tmp / "model", tmp / "out" / "model.tar.gz");
  ASSERT_TRUE(WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0) << child.status;
  EXPECT_EQ(child.message, "cannot read " + (tmp / "model" / "sub" / "secret.bin").string() +
                               ": Permission denied");
  EXPECT_TRUE(dir_names(tmp / "out").empty());  // neither OUT nor the temporary file
}

// Thousands of small files go through the prefetching readers: every byte, name and mode must
// come out as with the single-file path.
TEST(PackDirectory, ManySmallFilesRoundTripThroughGnuTar) {
  test::TempDir tmp;
  make_model(tmp / "model");
  for (int i = 0; i < 3000; ++i)
    make_file(tmp / "model" / fmt::format("shard{}", i % 9) / fmt::format("t{:04}.json", i),
              fmt::format("{{\"id\": {}, \"pad\": \"{}\"}}", i, std::string(i % 700, 'p')),
              i % 3 == 0 ? k600 : k644, kMtime + i % 5);
  for (int d = 0; d < 9; ++d) set_mtime(tmp / "model" / fmt::format("shard{}", d), kMtime);
  set_mtime(tmp / "model", kMtime);
  ASSERT_TRUE(pack_directory(tmp / "model", tmp / "model.tar.gz", small_blocks()));
  fs::create_directory(tmp / "x");
  auto x_run =
      run({"/usr/bin/tar", "-xzf", (tmp / "model.tar.gz").string(), "-C", (tmp / "x").string()});
  ASSERT_EQ(x_run.exit_code, 0) << x_run.err;
  EXPECT_EQ(snapshot(tmp / "x", false), snapshot(tmp / "model", false));
  EXPECT_EQ(gnu_tar_names(tmp / "model.tar.gz").size(), kExpectedOrder.size() + 9 + 3000);
}

TEST(PackDirectory, UnreadableFileAmongManyIsAnErrorNamingIt) {
  test::TempDir tmp;
  fs::permissions(tmp.path(), k755);
  make_dir(tmp / "model", k755);
  for (int i = 0; i < 500; ++i)
    make_file(tmp / "model" / "d" / fmt::format("f{:03}", i), std::to_string(i), k644);
  fs::permissions(tmp / "model" / "d", k755);
  fs::permissions(tmp / "model" / "d" / "f321", perms::none);
  make_dir(tmp / "out", perms::all);
  auto child = pack_as_nobody(tmp / "model", tmp / "out" / "model.tar.gz");
  ASSERT_TRUE(WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0) << child.status;
  EXPECT_EQ(child.message,
            "cannot read " + (tmp / "model" / "d" / "f321").string() + ": Permission denied");
  EXPECT_TRUE(dir_names(tmp / "out").empty());
}

TEST(PackDirectory, UnreadableDirectoryIsAnErrorNamingIt) {
  test::TempDir tmp;
  fs::permissions(tmp.path(), k755);
  make_model(tmp / "model");
  fs::permissions(tmp / "model" / "a", k755);
  fs::permissions(tmp / "model" / "empty", perms::none);
  make_dir(tmp / "out", perms::all);
  auto child = pack_as_nobody(tmp / "model", tmp / "out" / "model.tar.gz");
  ASSERT_TRUE(WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0) << child.status;
  EXPECT_EQ(child.message,
            "cannot read " + (tmp / "model" / "empty").string() + ": Permission denied");
  EXPECT_TRUE(dir_names(tmp / "out").empty());
}

TEST(PackDirectory, UnwritableDestinationIsAnError) {
  test::TempDir tmp;
  fs::permissions(tmp.path(), k755);
  make_model(tmp / "model");
  fs::permissions(tmp / "model" / "a", k755);
  make_dir(tmp / "out", k755);  // owned by root: nobody cannot create files in it
  auto child = pack_as_nobody(tmp / "model", tmp / "out" / "model.tar.gz");
  ASSERT_TRUE(WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0) << child.status;
  EXPECT_EQ(child.message,
            "cannot create a temporary file in " + (tmp / "out").string() + ": Permission denied");
  EXPECT_TRUE(dir_names(tmp / "out").empty());
}

// A full disk, for real: a 256 KiB tmpfs mounted in a private mount namespace of a child
// process (it disappears with the child). Skipped where mounting is not permitted.
TEST(PackDirectory, FullDiskIsAnErrorAndRemovesTheTemporary) {
  test::TempDir tmp;
  make_dir(tmp / "model", k755);
  std::string noise(2 * 1024 * 1024, '\0');
  std::uint32_t x = 7;
  for (char& c : noise) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  make_file(tmp / "model" / "weights.bin", noise, k644);
  fs::create_directory(tmp / "out");
  const fs::path out_dir = tmp / "out";
  auto child = run_in_child([&]() -> std::string {
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", out_dir.c_str(), "tmpfs", 0, "size=256k") != 0)
      return "SKIP";
    auto r = pack_directory(tmp / "model", out_dir / "model.tar.gz");
    const std::string left = std::to_string(dir_names(out_dir).size());
    return (r ? std::string("ok") : r.error().message) + "|left=" + left;
  });
  ASSERT_TRUE(WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0) << child.status;
  if (child.message == "SKIP") GTEST_SKIP() << "cannot mount a tmpfs here";
  EXPECT_EQ(child.message, "cannot write " + (out_dir / "model.tar.gz").string() +
                               ": No space left on device|left=0");
}

}  // namespace
}  // namespace smrun::pack
