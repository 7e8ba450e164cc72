#include "smrun/supervise/exec_path.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace smrun::supervise {
namespace {

using ::testing::ElementsAre;

TEST(ExecPath, PathComesFromTheWorkerEnvironment) {
  EXPECT_EQ(path_of({"HOME=/root", "PATH=/opt/bin:/usr/bin", "X=1"}), "/opt/bin:/usr/bin");
}

TEST(ExecPath, LastPathDefinitionWins) {
  EXPECT_EQ(path_of({"PATH=/a", "PATH=/b"}), "/b");
}

TEST(ExecPath, DefaultWhenNoPath) {
  EXPECT_EQ(path_of({"PATHX=/a", "MYPATH=/b"}), std::string(kDefaultExecPath));
}

TEST(ExecPath, ProgramWithSlashIsUsedAsIs) {
  EXPECT_THAT(exec_candidates("./train.sh", "/usr/bin"), ElementsAre("./train.sh"));
  EXPECT_THAT(exec_candidates("/usr/bin/python3", "/x"), ElementsAre("/usr/bin/python3"));
}

TEST(ExecPath, SearchesEachEntryInOrder) {
  EXPECT_THAT(exec_candidates("python3", "/opt/conda/bin:/usr/bin/"),
              ElementsAre("/opt/conda/bin/python3", "/usr/bin/python3"));
}

TEST(ExecPath, EmptyEntriesMeanTheCurrentDirectory) {
  EXPECT_THAT(exec_candidates("prog", ":/bin::"), ElementsAre("prog", "/bin/prog", "prog", "prog"));
  EXPECT_THAT(exec_candidates("prog", ""), ElementsAre("prog"));
}

TEST(ExecPath, EmptyProgramHasNoCandidates) {
  EXPECT_TRUE(exec_candidates("", "/bin").empty());
}

}  // namespace
}  // namespace smrun::supervise
