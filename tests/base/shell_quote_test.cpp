#include "smrun/base/shell_quote.hpp"

#include <gtest/gtest.h>

namespace smrun::base {
namespace {

TEST(ShellQuote, AlwaysQuotes) {
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("abc"), "'abc'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("$HOME\n`x`"), "'$HOME\n`x`'");
}

TEST(ShellQuote, WordsQuotedOnlyWhenNeeded) {
  EXPECT_EQ(shell_word("--lr"), "--lr");
  EXPECT_EQ(shell_word("/usr/bin/python3"), "/usr/bin/python3");
  EXPECT_EQ(shell_word("a=b,c:d@e%f+g.h_i-j"), "a=b,c:d@e%f+g.h_i-j");
  EXPECT_EQ(shell_word(""), "''");
  EXPECT_EQ(shell_word("hello world"), "'hello world'");
  EXPECT_EQ(shell_word("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_word("$HOME"), "'$HOME'");
  EXPECT_EQ(shell_word("*"), "'*'");
  EXPECT_EQ(shell_word("~"), "'~'");
  EXPECT_EQ(shell_word("ü"), "'ü'");
}

TEST(ShellQuote, CommandLineFromTheIssue) {
  EXPECT_EQ(shell_command_line(
                {"python3", "-u", "train.py", "--name", "hello world", "-q", "it's", "$HOME"}),
            "python3 -u train.py --name 'hello world' -q 'it'\\''s' '$HOME'");
  EXPECT_EQ(shell_command_line({}), "");
}

TEST(ShellQuote, VariableNames) {
  for (const char* ok : {"SM_HP_LR", "_", "a", "PYTHONPATH", "x_1"})
    EXPECT_TRUE(is_shell_variable_name(ok)) << ok;
  for (const char* bad :
       {"", "1A", "SM_HP_A B;TOUCH /TMP/X", "A-B", "A.B", "SM_HP_Ü", "A=B", "$(x)", "A\nB"})
    EXPECT_FALSE(is_shell_variable_name(bad)) << bad;
}

}  // namespace
}  // namespace smrun::base
