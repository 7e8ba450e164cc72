#include "timing.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace smrun::cluster {
namespace {

using std::chrono::milliseconds;

std::vector<long> waits(Backoff backoff, int count) {
  std::vector<long> out;
  for (int i = 0; i < count; ++i) out.push_back(backoff.next().count());
  return out;
}

TEST(Backoff, DoublesFromTheFirstWaitUpToTheLongest) {
  EXPECT_EQ(waits(Backoff(milliseconds(5), milliseconds(250)), 9),
            (std::vector<long>{5, 10, 20, 40, 80, 160, 250, 250, 250}));
}

TEST(Backoff, AFirstWaitAboveTheLongestIsCutToIt) {
  EXPECT_EQ(waits(Backoff(milliseconds(400), milliseconds(250)), 3),
            (std::vector<long>{250, 250, 250}));
}

TEST(FormatDuration, QuotesAWaitAsTheUserWroteIt) {
  EXPECT_EQ(format_duration(milliseconds(250)), "250ms");
  EXPECT_EQ(format_duration(milliseconds(30000)), "30s");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(format_duration(milliseconds(1250)), "1.25s");
}

}  // namespace
}  // namespace smrun::cluster
