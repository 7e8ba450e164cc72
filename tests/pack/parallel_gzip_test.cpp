#include "smrun/pack/parallel_gzip.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "pack/pack_fixture.hpp"

namespace smrun::pack {
namespace {

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 1;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>('a' + (x >> 16) % 8);
  }
  return s;
}

std::span<const std::uint8_t> bytes(const std::string& s, std::size_t from, std::size_t n) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()) + from, n};
}

struct Collected {
  std::string data;
  std::size_t calls = 0;
};

ByteSink collect_into(Collected& c) {
  return [&c](std::span<const std::uint8_t> b) -> base::Status {
    c.data.append(reinterpret_cast<const char*>(b.data()), b.size());
    ++c.calls;
    return {};
  };
}

TEST(ParallelGzip, BlocksBecomeOrderedMembersWhateverTheWriteSizes) {
  const std::string input = pattern(1'000'003);
  for (unsigned threads : {1u, 2u, 5u}) {
    Collected out;
    ParallelGzipWriter gz({.level = 6, .threads = threads, .block_size = 10'000},
                          collect_into(out));
    // Uneven write sizes straddle block boundaries.
    std::size_t pos = 0, step = 1;
    while (pos < input.size()) {
      const std::size_t n = std::min(step, input.size() - pos);
      ASSERT_TRUE(gz.write(bytes(input, pos, n)));
      pos += n;
      step = step * 3 % 50'000 + 1;
    }
    ASSERT_TRUE(gz.finish());
    std::string round_trip;
    EXPECT_EQ(testing::count_gzip_members(out.data, &round_trip), 101u) << threads;
    EXPECT_TRUE(round_trip == input) << threads;
    EXPECT_EQ(out.calls, 101u);
    EXPECT_EQ(gz.bytes_in(), input.size());
    EXPECT_EQ(gz.bytes_out(), out.data.size());
  }
}

// xorshift bytes: no repeats for deflate to find.
std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::string s(n, '\0');
  for (auto& c : s) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    c = static_cast<char>(seed >> 24);
  }
  return s;
}

TEST(ParallelGzip, IncompressibleBlocksAreStoredAndCompressibleOnesAreNot) {
  constexpr std::size_t kBlock = 1 << 20;
  // Blocks: random, text, random with a text stretch at its end, random.
  std::string input = random_bytes(kBlock, 1) + pattern(kBlock);
  std::string mixed = random_bytes(kBlock, 2);
  const std::string stretch = pattern(64 * 1024);
  mixed.replace(kBlock - stretch.size(), stretch.size(), stretch);
  input += mixed + random_bytes(kBlock, 3);
  Collected out;
  std::vector<std::size_t> member_sizes;
  ParallelGzipWriter gz({.level = 6, .threads = 2, .block_size = kBlock},
                        [&](std::span<const std::uint8_t> b) {
                          member_sizes.push_back(b.size());
                          return collect_into(out)(b);
                        });
  ASSERT_TRUE(gz.write(bytes(input, 0, input.size())));
  ASSERT_TRUE(gz.finish());
  std::string round_trip;
  EXPECT_EQ(testing::count_gzip_members(out.data, &round_trip), 4u);
  EXPECT_TRUE(round_trip == input);
  EXPECT_EQ(gz.blocks_stored(), 2u);  // the two wholly random blocks
  ASSERT_EQ(member_sizes.size(), 4u);
  // Stored: the block plus 5 bytes per stored deflate block (at most 64 KiB each) and the gzip
  // header and trailer.
  const std::size_t stored = kBlock + 5 * (kBlock / 65535 + 1) + 18;
  EXPECT_EQ(member_sizes[0], stored);
  EXPECT_EQ(member_sizes[3], stored);
  EXPECT_LT(member_sizes[1], kBlock / 2);  // 8 letters: about 3 bits a byte
  // The random part costs its size; the stretch of text is still found and shrinks.
  EXPECT_LT(member_sizes[2], kBlock - stretch.size() / 2);
}

TEST(ParallelGzip, LevelZeroStoresWithoutProbing) {
  const std::string input = random_bytes(1 << 20, 4);
  Collected out;
  ParallelGzipWriter gz({.level = 0, .threads = 1, .block_size = 1 << 20}, collect_into(out));
  ASSERT_TRUE(gz.write(bytes(input, 0, input.size())));
  ASSERT_TRUE(gz.finish());
  std::string round_trip;
  EXPECT_EQ(testing::count_gzip_members(out.data, &round_trip), 1u);
  EXPECT_TRUE(round_trip == input);
  EXPECT_EQ(gz.blocks_stored(), 0u);  // level 0 stores anyway; the shortcut is not counted
}

TEST(ParallelGzip, EmptyStreamIsOneValidEmptyMember) {
  Collected out;
  ParallelGzipWriter gz({.level = 6, .threads = 2, .block_size = 4096}, collect_into(out));
  ASSERT_TRUE(gz.finish());
  std::string round_trip = "not empty";
  EXPECT_EQ(testing::count_gzip_members(out.data, &round_trip), 1u);
  EXPECT_EQ(round_trip, "");
}

TEST(ParallelGzip, ExactMultipleOfBlockSizeHasNoTrailingEmptyMember) {
  const std::string input = pattern(3 * 4096);
  Collected out;
  ParallelGzipWriter gz({.level = 1, .threads = 2, .block_size = 4096}, collect_into(out));
  ASSERT_TRUE(gz.write(bytes(input, 0, input.size())));
  ASSERT_TRUE(gz.finish());
  std::string round_trip;
  EXPECT_EQ(testing::count_gzip_members(out.data, &round_trip), 3u);
  EXPECT_TRUE(round_trip == input);
}

TEST(ParallelGzip, SinkErrorIsReturnedAndSticks) {
  const std::string input = pattern(200'000);
  std::size_t calls = 0;
  ParallelGzipWriter gz({.level = 6, .threads = 2, .block_size = 4096},
                        [&calls](std::span<const std::uint8_t>) -> base::Status {
                          if (++calls == 3)
                            return base::fail(base::ErrorKind::kPack, "cannot write out: full");
                          return {};
                        });
  base::Status s = gz.write(bytes(input, 0, input.size()));
  if (s) s = gz.finish();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "cannot write out: full");
  base::Status again = gz.write(bytes(input, 0, 10));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "cannot write out: full");
  EXPECT_EQ(calls, 3u);  // nothing delivered after the failure
}

}  // namespace
}  // namespace smrun::pack
