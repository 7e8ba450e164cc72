#include "smrun/supervise/line_prefixer.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

namespace smrun::supervise {
namespace {

using Lines = std::vector<std::string>;

Lines feed_all(LinePrefixer& p, const std::vector<std::string>& chunks, bool eof = true) {
  Lines out;
  for (const auto& chunk : chunks) p.feed(chunk, out);
  if (eof) p.finish(out);
  return out;
}

TEST(LinePrefixer, WholeLinesGetThePrefix) {
  LinePrefixer p("algo-2:5");
  EXPECT_EQ(feed_all(p, {"a\nbb\n"}), (Lines{"[algo-2:5] a\n", "[algo-2:5] bb\n"}));
}

TEST(LinePrefixer, MpirunTagsBecomeHostAndRank) {
  LinePrefixer p("algo-1:mpirun", RankHosts{{"algo-1", "algo-2"}, 2});
  EXPECT_EQ(feed_all(p, {"[1,3]<stdout>:rank=3 ok\n[1,0]<std", "err>:Traceback\n",
                         "[1,9]<stdout>:rank outside the host list\n",
                         " Data for JOB [17045,1] offset 0\n", "[1,2]<stdin>:x\n"}),
            (Lines{"[algo-2:3] rank=3 ok\n", "[algo-1:0] Traceback\n",
                   "[algo-1:mpirun] [1,9]<stdout>:rank outside the host list\n",
                   "[algo-1:mpirun]  Data for JOB [17045,1] offset 0\n",
                   "[algo-1:mpirun] [1,2]<stdin>:x\n"}));
}

TEST(LinePrefixer, NestedSmrunKeepsItsRankLinesAndPrefixesItsOwnLines) {
  LinePrefixer p("algo-2", std::nullopt, /*nested=*/true);
  EXPECT_EQ(feed_all(p, {"[algo-2:3] loss=1\n2026 smrun INFO started\n[alg", "o-2:4] x\n[",
                         "algo-1:0] other host\n[algo-2] not a rank\n[algo-2:", "5]\r\n"}),
            (Lines{"[algo-2:3] loss=1\n", "[algo-2] 2026 smrun INFO started\n", "[algo-2:4] x\n",
                   "[algo-2] [algo-1:0] other host\n", "[algo-2] [algo-2] not a rank\n",
                   "[algo-2:5]\r\n"}));
}

TEST(LinePrefixer, LinesSplitAcrossChunksAreJoined) {
  LinePrefixer p("w");
  EXPECT_EQ(feed_all(p, {"he", "llo\nwor", "", "ld\n"}), (Lines{"[w] hello\n", "[w] world\n"}));
}

TEST(LinePrefixer, EmptyLinesAreKept) {
  LinePrefixer p("w");
  EXPECT_EQ(feed_all(p, {"\n\nx\n"}), (Lines{"[w] \n", "[w] \n", "[w] x\n"}));
}

TEST(LinePrefixer, UnfinishedLineWaitsThenGetsANewlineAtEof) {
  LinePrefixer p("w");
  Lines out;
  p.feed("done\npart", out);
  EXPECT_EQ(out, (Lines{"[w] done\n"}));
  p.finish(out);
  EXPECT_EQ(out, (Lines{"[w] done\n", "[w] part\n"}));
  Lines none;
  p.finish(none);
  EXPECT_TRUE(none.empty());
}

TEST(LinePrefixer, CarriageReturnEndsALineAndIsKept) {
  LinePrefixer p("w:0");
  EXPECT_EQ(feed_all(p, {"\r 10%\r 20%\r", "100%\n"}),
            (Lines{"[w:0] \r", "[w:0]  10%\r", "[w:0]  20%\r", "[w:0] 100%\n"}));
}

TEST(LinePrefixer, CrLfIsOneTerminatorEvenAcrossChunks) {
  LinePrefixer p("w");
  EXPECT_EQ(feed_all(p, {"a\r\nb\r", "\nc\n"}), (Lines{"[w] a\r\n", "[w] b\r", "\n", "[w] c\n"}));
}

TEST(LinePrefixer, LoneNewlineAfterCrOnlyRightAfterIt) {
  LinePrefixer p("w");
  // The chunk after "b\r" starts with "x": the flag must not leak to a later '\n'.
  EXPECT_EQ(feed_all(p, {"b\r", "x", "\n"}), (Lines{"[w] b\r", "[w] x\n"}));
}

TEST(LinePrefixer, OverlongLineIsCutIntoPrefixedPieces) {
  LinePrefixer p("w");
  const std::string big(LinePrefixer::kMaxPending * 2 + 10, 'z');
  Lines out;
  p.feed(big.substr(0, 1000), out);
  EXPECT_TRUE(out.empty());
  p.feed(big.substr(1000), out);
  const std::string piece(LinePrefixer::kMaxPending, 'z');
  EXPECT_EQ(out, (Lines{"[w] " + piece + "\n", "[w] " + piece + "\n"}));
  p.feed("y\n", out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2], "[w] zzzzzzzzzzy\n");
}

TEST(LinePrefixer, BinaryBytesPassThrough) {
  LinePrefixer p("w");
  const std::string data("\0\xff\x1b[31m\n", 8);
  EXPECT_EQ(feed_all(p, {data}), (Lines{"[w] " + data}));
}

// Feeds `stream` cut into `chunk`-byte reads through two prefixers made alike: one giving a
// string per line, one appending every read's lines to one text (what the relay queues).
// Returns {the lines joined, the text}.
std::pair<std::string, std::string> by_line_and_by_read(LinePrefixer by_line, LinePrefixer by_read,
                                                        std::string_view stream,
                                                        std::size_t chunk) {
  Lines lines;
  std::string joined;
  for (std::size_t pos = 0; pos < stream.size(); pos += chunk) {
    const std::string_view piece = stream.substr(pos, chunk);
    by_line.feed(piece, lines);
    by_read.feed(piece, joined);
  }
  by_line.finish(lines);
  by_read.finish(joined);
  std::string expected;
  for (const auto& line : lines) expected += line;
  return {expected, joined};
}

// What the relay queues (all lines of a read in one string) is exactly the lines one by one,
// for any way the stream is cut into reads: '\r', "\r\n" across reads, mpirun tags, long lines.
TEST(LinePrefixer, OneStringPerReadEqualsTheLinesOneByOne) {
  std::string stream;
  for (int i = 0; i < 300; ++i) {
    stream += "line " + std::to_string(i) + (i % 7 == 0 ? "\r" : i % 11 == 0 ? "\r\n" : "\n");
    if (i % 50 == 0) stream += "[1," + std::to_string(i % 4) + "]<stdout>:tagged\n";
    if (i == 150) stream += std::string(70000, 'L') + "\n";
  }
  stream += "unfinished";
  for (std::size_t chunk : {1u, 3u, 64u, 4096u, 65536u}) {
    const auto [expected, joined] =
        by_line_and_by_read(LinePrefixer("h:0", RankHosts{{"algo-1", "algo-2"}, 2}),
                            LinePrefixer("h:0", RankHosts{{"algo-1", "algo-2"}, 2}), stream, chunk);
    EXPECT_EQ(joined, expected) << "chunk " << chunk;
    EXPECT_TRUE(joined.ends_with("[h:0] unfinished\n"));
  }
}

// Without tags or nesting the relay's text takes a fast path for '\n'-terminated lines: for
// random streams of '\n', '\r', "\r\n", empty, long and overlong lines, cut anywhere, it must
// produce exactly what the line-by-line path does.
TEST(LinePrefixer, FastPathForPlainLinesEqualsTheLinesOneByOne) {
  std::mt19937 rng(20261206);
  for (int round = 0; round < 40; ++round) {
    std::string stream;
    while (stream.size() < 200000) {
      const unsigned pick = rng() % 16;
      if (pick < 9)
        stream += std::string(rng() % 120, static_cast<char>('a' + rng() % 26));
      else if (pick < 12)
        stream += '\n';
      else if (pick < 14)
        stream += '\r';
      else if (pick < 15)
        stream += "\r\n";
      else
        stream += std::string(LinePrefixer::kMaxPending + rng() % 5000, 'L');
    }
    const std::size_t chunk = 1 + rng() % (round % 2 == 0 ? 300 : 70000);
    const auto [expected, joined] =
        by_line_and_by_read(LinePrefixer("algo-1:7"), LinePrefixer("algo-1:7"), stream, chunk);
    ASSERT_EQ(joined.size(), expected.size()) << "round " << round << ", chunk " << chunk;
    ASSERT_TRUE(joined == expected) << "round " << round << ", chunk " << chunk;
  }
}

}  // namespace
}  // namespace smrun::supervise
