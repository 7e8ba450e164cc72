// `smrun env --format shell|dotenv`: nothing in the output runs when it is sourced.

#include "smrun/env/env_format.hpp"

#include <gtest/gtest.h>

namespace smrun::env {
namespace {

EnvList list(std::vector<std::pair<std::string, std::string>> items) {
  EnvList out;
  for (auto& [k, v] : items) out.set(k, v);
  return out;
}

TEST(EnvFormat, ShellQuotesValuesAndLeavesOutNamesThatAreNotVariables) {
  auto out = format_env(list({{"SM_HP_LR", "0.1"},
                              {"SM_HP_A B;TOUCH /TMP/X", "1"},
                              {"SM_HP_MSG", "it's $HOME"},
                              {"SM_HP_PASSWORD", "hunter22"}}),
                        EnvFormat::kShell, /*show_secrets=*/false);
  EXPECT_EQ(out.text,
            "export SM_HP_LR='0.1'\n"
            "export SM_HP_MSG='it'\\''s $HOME'\n"
            "export SM_HP_PASSWORD='****'\n");
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_EQ(out.warnings[0],
            "left out SM_HP_A B;TOUCH /TMP/X: not a valid variable name for shell output "
            "(letters, digits and _ only)");
}

TEST(EnvFormat, DotenvEscapesWhatAnEnvFileCannotHold) {
  auto out = format_env(list({{"A", "x\ny\"z\\$w\r"}, {"SM_HP_PASSWORD", "hunter22"}, {"1X", "v"}}),
                        EnvFormat::kDotenv, /*show_secrets=*/true);
  EXPECT_EQ(out.text, "A=\"x\\ny\\\"z\\\\\\$w\\r\"\nSM_HP_PASSWORD=\"hunter22\"\n");
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_EQ(out.warnings[0],
            "left out 1X: not a valid variable name for dotenv output (letters, digits and _ "
            "only)");
  EXPECT_EQ(dotenv_quote(""), "\"\"");
}

}  // namespace
}  // namespace smrun::env
