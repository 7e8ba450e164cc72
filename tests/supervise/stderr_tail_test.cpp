#include "smrun/supervise/stderr_tail.hpp"

#include <gtest/gtest.h>

namespace smrun::supervise {
namespace {

TEST(StderrTail, KeepsEverythingBelowCapacity) {
  StderrTail tail(8);
  tail.append("ab");
  tail.append("cd");
  EXPECT_EQ(tail.contents(), "abcd");
}

TEST(StderrTail, KeepsTheLastBytesAcrossSmallAppends) {
  StderrTail tail(4);
  for (char c : std::string("abcdefghijklmnopqrstuvwxyz")) tail.append(std::string(1, c));
  EXPECT_EQ(tail.contents(), "wxyz");
}

TEST(StderrTail, OneChunkLargerThanCapacity) {
  StderrTail tail(4);
  tail.append("xy");
  tail.append("0123456789");
  EXPECT_EQ(tail.contents(), "6789");
  tail.append("A");
  EXPECT_EQ(tail.contents(), "789A");
}

TEST(StderrTail, KeepsNulBytes) {
  StderrTail tail(3);
  tail.append(std::string("a\0b\0", 4));
  EXPECT_EQ(tail.contents(), std::string("\0b\0", 3));
}

TEST(StderrTail, ZeroCapacityKeepsNothing) {
  StderrTail tail(0);
  tail.append("abc");
  EXPECT_EQ(tail.contents(), "");
}

}  // namespace
}  // namespace smrun::supervise
