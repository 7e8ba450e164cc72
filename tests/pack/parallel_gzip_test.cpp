#include "smrun/pack/parallel_gzip.hpp"

#include <gtest/gtest.h>

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
