// EnvList: Python dict assignment order (the reference builds SM_* in a dict) and execve strings.

#include "smrun/env/env_list.hpp"

#include <gtest/gtest.h>

namespace smrun::env {
namespace {

TEST(EnvList, SetReplacesInPlaceAndKeepsFirstPosition) {
  EnvList env;
  env.set("SM_HP_LR", "0.1");
  env.set("SM_HOSTS", "[\"algo-1\"]");
  env.set("SM_HP_LR", "0.2");  // "LR" after "lr": later value, earlier position
  ASSERT_EQ(env.size(), 2u);
  EXPECT_EQ(env.entries()[0], (std::pair<std::string, std::string>{"SM_HP_LR", "0.2"}));
  EXPECT_EQ(env.entries()[1].first, "SM_HOSTS");
  EXPECT_EQ(env.to_strings(), (std::vector<std::string>{"SM_HP_LR=0.2", "SM_HOSTS=[\"algo-1\"]"}));
}

TEST(EnvList, SetDefaultNeverOverrides) {
  EnvList env;
  env.set("PYTHONPATH", "/user");
  env.set_default("PYTHONPATH", "/ours");
  env.set_default("NEW", "x");
  EXPECT_EQ(*env.find("PYTHONPATH"), "/user");
  EXPECT_EQ(*env.find("NEW"), "x");
  EXPECT_EQ(env.find("MISSING"), nullptr);
  EXPECT_FALSE(env.contains("MISSING"));
}

TEST(EnvList, AppendSetsEveryEntryInOrder) {
  EnvList a;
  a.set("A", "1");
  a.set("B", "2");
  EnvList b;
  b.set("C", "3");
  b.set("A", "9");
  a.append(b);
  EXPECT_EQ(a.to_strings(), (std::vector<std::string>{"A=9", "B=2", "C=3"}));
}

TEST(EnvList, ValuesAreBytesAsGiven) {
  EnvList env;
  env.set("X", "a=b\nc");
  env.set("EMPTY", "");
  EXPECT_EQ(env.to_strings(), (std::vector<std::string>{"X=a=b\nc", "EMPTY="}));
}

TEST(EnvSnapshotTest, ReadsEnvironAndSplitsAtTheFirstEquals) {
  char a[] = "A=1=2";
  char b[] = "EMPTY=";
  char c[] = "NOEQUALS";
  char* environ_list[] = {a, b, c, nullptr};
  EnvSnapshot env = snapshot_environment(environ_list);
  EXPECT_EQ(lookup(env, "A"), "1=2");
  EXPECT_EQ(lookup(env, "EMPTY"), "");
  EXPECT_EQ(lookup(env, "MISSING"), std::nullopt);
}

}  // namespace
}  // namespace smrun::env
