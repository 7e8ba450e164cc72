#include "smrun/base/printable.hpp"

#include <gtest/gtest.h>

namespace smrun::base {
namespace {

TEST(Printable, EscapesControlCharacters) {
  EXPECT_EQ(printable("plain name.txt"), "plain name.txt");
  EXPECT_EQ(printable("a\nb\tc\x1b"), "a\\nb\\x09c\\x1b");
  EXPECT_EQ(printable("back\\slash"), "back\\\\slash");
  EXPECT_EQ(printable("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 passes through
}

}  // namespace
}  // namespace smrun::base
