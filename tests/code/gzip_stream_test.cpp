#include "smrun/code/gzip_stream.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "support/test_support.hpp"

namespace smrun::code {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Writes gzip files with Python's gzip module (an independent encoder): `script` gets `out` (the
// path to write) and the helpers `text(n)` (compressible) and `noise(n)` (incompressible).
void make_gzip(const fs::path& out, const std::string& script) {
  test::ProcessOptions o;
  o.argv = {"/usr/bin/python3", "-c",
            "import gzip, random, sys\n"
            "out = sys.argv[1]\n"
            "rnd = random.Random(5)\n"
            "def text(n): return bytes((b'line %d of the text\\n' % i)[j % 20] for i, j in "
            "zip(range(n), range(n)))\n"
            "def noise(n): return bytes(rnd.getrandbits(8) for _ in range(n))\n" +
                script,
            out.string()};
  auto r = test::run_process(o);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

struct Drained {
  std::string data;
  std::string error;  // empty when the stream ended cleanly
  int chunks = 0;
};

Drained drain(const fs::path& file) {
  Drained d;
  auto opened = GzipStream::open(file);
  if (!opened) {
    d.error = "open: " + opened.error().message;
    return d;
  }
  for (;;) {
    auto next = (*opened)->next();
    if (!next) {
      d.error = next.error().message;
      return d;
    }
    if (next->empty()) return d;
    ++d.chunks;
    d.data.append(reinterpret_cast<const char*>(next->data()), next->size());
  }
}

std::string python_gunzip(const fs::path& file) {
  test::ProcessOptions o;
  o.argv = {"/usr/bin/python3", "-c",
            "import gzip, sys; sys.stdout.buffer.write(gzip.open(sys.argv[1]).read())",
            file.string()};
  auto r = test::run_process(o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

TEST(GzipStream, InflatesManyChunksExactlyAsPythonDoes) {
  test::TempDir tmp;
  // ~3.5 MiB out: several 1 MiB chunks, the last one partial.
  ASSERT_NO_FATAL_FAILURE(make_gzip(
      tmp / "a.gz", "open(out, 'wb').write(gzip.compress(text(2500000) + noise(1000000)))"));
  const Drained d = drain(tmp / "a.gz");
  EXPECT_EQ(d.error, "");
  EXPECT_EQ(d.data.size(), 3500000u);
  EXPECT_GE(d.chunks, 4);
  EXPECT_TRUE(d.data == python_gunzip(tmp / "a.gz"));
}

TEST(GzipStream, ConcatenatedMembersAreOneStream) {
  test::TempDir tmp;
  ASSERT_NO_FATAL_FAILURE(make_gzip(tmp / "m.gz",
                                    "open(out, 'wb').write(gzip.compress(b'first member\\n') + "
                                    "gzip.compress(b'') + gzip.compress(text(300000)))"));
  const Drained d = drain(tmp / "m.gz");
  EXPECT_EQ(d.error, "");
  EXPECT_EQ(d.data.substr(0, 13), "first member\n");
  EXPECT_EQ(d.data.size(), 13u + 300000u);
  EXPECT_TRUE(d.data == python_gunzip(tmp / "m.gz"));
}

TEST(GzipStream, BytesAfterTheLastMemberEndTheStream) {
  test::TempDir tmp;
  ASSERT_NO_FATAL_FAILURE(
      make_gzip(tmp / "t.gz", "open(out, 'wb').write(gzip.compress(b'payload') + b'\\0' * 1024)"));
  const Drained d = drain(tmp / "t.gz");
  EXPECT_EQ(d.error, "");
  EXPECT_EQ(d.data, "payload");
}

TEST(GzipStream, TruncatedInputFailsAfterTheGoodBytes) {
  test::TempDir tmp;
  ASSERT_NO_FATAL_FAILURE(make_gzip(
      tmp / "cut.gz", "d = gzip.compress(noise(3000000)); open(out, 'wb').write(d[:len(d)//2])"));
  const Drained d = drain(tmp / "cut.gz");
  EXPECT_EQ(d.error, "gzip: unexpected end of data (truncated archive?)");
  EXPECT_GT(d.data.size(), 1000000u);  // everything before the cut was delivered
  EXPECT_LT(d.data.size(), 3000000u);
}

TEST(GzipStream, BadChecksumIsCorruptData) {
  test::TempDir tmp;
  ASSERT_NO_FATAL_FAILURE(make_gzip(tmp / "crc.gz",
                                    "d = bytearray(gzip.compress(text(5000))); d[-8] ^= 1; "
                                    "open(out, 'wb').write(d)"));
  const Drained d = drain(tmp / "crc.gz");
  EXPECT_THAT(d.error, HasSubstr("gzip: corrupt data near compressed byte"));
  EXPECT_THAT(d.error, HasSubstr("incorrect data check"));
}

TEST(GzipStream, MissingFileFailsToOpen) {
  test::TempDir tmp;
  EXPECT_EQ(drain(tmp / "missing.gz").error, "open: No such file or directory");
  EXPECT_FALSE(has_gzip_magic(tmp / "missing.gz"));
}

TEST(GzipStream, MagicIsTheFirstTwoBytes) {
  test::TempDir tmp;
  test::write_file(tmp / "g", std::string("\x1f\x8b", 2));
  test::write_file(tmp / "t", "plain tar or text");
  test::write_file(tmp / "one", "\x1f");
  EXPECT_TRUE(has_gzip_magic(tmp / "g"));
  EXPECT_FALSE(has_gzip_magic(tmp / "t"));
  EXPECT_FALSE(has_gzip_magic(tmp / "one"));
}

TEST(GzipStream, StoppingBeforeTheEndReturns) {
  test::TempDir tmp;
  ASSERT_NO_FATAL_FAILURE(
      make_gzip(tmp / "big.gz", "open(out, 'wb').write(gzip.compress(text(12000000)))"));
  for (int round = 0; round < 5; ++round) {
    auto opened = GzipStream::open(tmp / "big.gz");
    ASSERT_TRUE(opened);
    auto first = (*opened)->next();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->size(), std::size_t{1} << 20);
    // Destroyed with the inflater blocked on full buffers: must not hang.
  }
}

}  // namespace
}  // namespace smrun::code
