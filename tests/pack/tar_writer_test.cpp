#include "smrun/pack/tar_writer.hpp"

#include <gtest/gtest.h>

#include "pack/pack_fixture.hpp"
#include "support/test_support.hpp"

namespace smrun::pack {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

EntryInfo lstat_of(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) throw std::runtime_error("lstat");
  return EntryInfo::of(st);
}

TEST(TarWriter, StreamIsPlainUstarPaddedToRecords) {
  test::TempDir tmp;
  test::write_file(tmp / "f", "hello");
  std::string tar;
  auto w = TarWriter::open([&tar](std::span<const std::uint8_t> b) -> base::Status {
    tar.append(reinterpret_cast<const char*>(b.data()), b.size());
    return {};
  });
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->add_file("f", lstat_of(tmp / "f"), tmp / "f"));
  ASSERT_TRUE((*w)->close());
  ASSERT_EQ(tar.size(), 10240u);
  EXPECT_EQ(tar.substr(0, 2), "f\0"s);          // name
  EXPECT_EQ(tar.substr(257, 6), "ustar\0"s);    // POSIX magic, no pax header first
  EXPECT_EQ(tar.substr(108, 8), "000000 \0"s);  // uid 0, octal as ustar writes it
  EXPECT_EQ(tar.substr(265, 1), "\0"s);         // empty user name
  EXPECT_EQ(tar.substr(512, 5), "hello");
  EXPECT_EQ((*w)->content_bytes(), 5u);
}

TEST(TarWriter, FileThatShrankIsAnError) {
  test::TempDir tmp;
  test::write_file(tmp / "f", "hello");
  EntryInfo st = lstat_of(tmp / "f");
  st.size = 100;  // as if the file was truncated after listing
  auto w = TarWriter::open([](std::span<const std::uint8_t>) -> base::Status { return {}; });
  ASSERT_TRUE(w);
  base::Status s = (*w)->add_file("f", st, tmp / "f");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "cannot read " + (tmp / "f").string() +
                                   ": file shrank from 100 bytes while being packed");
}

TEST(TarWriter, FileReplacedByASymlinkIsNotFollowed) {
  test::TempDir tmp;
  test::write_file(tmp / "f", "hello");
  const EntryInfo st = lstat_of(tmp / "f");
  fs::remove(tmp / "f");
  fs::create_symlink("/etc/hostname", tmp / "f");
  auto w = TarWriter::open([](std::span<const std::uint8_t>) -> base::Status { return {}; });
  ASSERT_TRUE(w);
  base::Status s = (*w)->add_file("f", st, tmp / "f");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message,
            "cannot read " + (tmp / "f").string() + ": Too many levels of symbolic links");
}

TEST(TarWriter, SinkFailureMessageIsPassedThrough) {
  test::TempDir tmp;
  test::write_file(tmp / "f", std::string(100000, 'x'));
  auto w = TarWriter::open([](std::span<const std::uint8_t>) -> base::Status {
    return base::fail(base::ErrorKind::kPack, "cannot write /out/model.tar.gz: No space left");
  });
  ASSERT_TRUE(w);
  base::Status s = (*w)->add_file("f", lstat_of(tmp / "f"), tmp / "f");
  if (s) s = (*w)->close();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "cannot write /out/model.tar.gz: No space left");
}

}  // namespace
}  // namespace smrun::pack
