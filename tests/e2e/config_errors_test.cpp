// Bad configuration and missing code: each is one clear line naming the file and JSON path (or
// the variable), in stderr and in output/failure, with smrun's documented exit code.

#include <gtest/gtest.h>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

struct BadConfigCase {
  std::string name;
  std::string file;  // under input/config
  std::string content;
  std::vector<std::string> expected;  // substrings of stderr and output/failure
};

void PrintTo(const BadConfigCase& c, std::ostream* os) {
  *os << c.name;
}

class BadConfigTest : public ::testing::TestWithParam<BadConfigCase> {};

TEST_P(BadConfigTest, Exit65NamingFileAndPath) {
  const BadConfigCase& c = GetParam();
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py",
                      "import os\nopen(os.path.join(os.environ['E2E_SCRATCH'], 'ran'), 'w')\n");
  write_file(job.config_dir() / c.file, c.content);
  ProcessResult r = job.run_train();
  EXPECT_EQ(r.exit_code, 65) << r.err;
  EXPECT_FALSE(fs::exists(job.scratch() / "ran")) << "the script ran despite a bad config";
  EXPECT_FALSE(fs::exists(job.success_file()));
  ASSERT_TRUE(fs::exists(job.failure_file())) << r.err;
  const std::string failure = read_file(job.failure_file());
  for (const auto& s : c.expected) {
    EXPECT_NE(r.err.find(s), std::string::npos) << "stderr lacks '" << s << "':\n" << r.err;
    EXPECT_NE(failure.find(s), std::string::npos) << "failure lacks '" << s << "':\n" << failure;
  }
  // The dry run rejects the same config with the same code.
  ProcessResult dry = job.run_env();
  EXPECT_EQ(dry.exit_code, 65) << dry.err;
  EXPECT_NE(dry.err.find(c.expected.front()), std::string::npos) << dry.err;
}

INSTANTIATE_TEST_SUITE_P(
    E2e, BadConfigTest,
    ::testing::Values(BadConfigCase{"MalformedHyperparameters",
                                    "hyperparameters.json",
                                    "{\"lr\": \"0.1\",",
                                    {"hyperparameters.json", "invalid JSON"}},
                      BadConfigCase{"HyperparametersNotAnObject",
                                    "hyperparameters.json",
                                    "[1, 2]",
                                    {"hyperparameters.json", "$"}},
                      BadConfigCase{"HostsNotAList",
                                    "resourceconfig.json",
                                    R"({"current_host": "algo-1", "hosts": "algo-1"})",
                                    {"resourceconfig.json", "$.hosts"}},
                      BadConfigCase{"HostsContainANumber",
                                    "resourceconfig.json",
                                    R"({"current_host": "algo-1", "hosts": ["algo-1", 2]})",
                                    {"resourceconfig.json", "$.hosts[1]"}},
                      BadConfigCase{"MissingCurrentHost",
                                    "resourceconfig.json",
                                    R"({"hosts": ["algo-1"]})",
                                    {"resourceconfig.json", "$.current_host"}},
                      BadConfigCase{"InputDataConfigNotAnObject",
                                    "inputdataconfig.json",
                                    R"(["train"])",
                                    {"inputdataconfig.json", "$"}},
                      BadConfigCase{"MalformedInputDataConfig",
                                    "inputdataconfig.json",
                                    "{train}",
                                    {"inputdataconfig.json", "invalid JSON"}},
                      BadConfigCase{"CurrentHostNotInHosts",
                                    "resourceconfig.json",
                                    R"({"current_host": "algo-9", "hosts": ["algo-1", "algo-2"]})",
                                    {"resourceconfig.json: $.current_host: 'algo-9' is not one of "
                                     "$.hosts [algo-1, algo-2]"}},
                      BadConfigCase{"ChannelNameDotDot",
                                    "inputdataconfig.json",
                                    R"({"..": {"TrainingInputMode": "File"}})",
                                    {"inputdataconfig.json: channel name '..' is not valid: "
                                     "expected letters, digits, '.', '-' and '_' only, and not "
                                     "'.' or '..'"}},
                      BadConfigCase{"ChannelNameWithSlash",
                                    "inputdataconfig.json",
                                    R"({"train": {}, "a/b": {}})",
                                    {"inputdataconfig.json: channel name 'a/b' is not valid"}},
                      BadConfigCase{"ChannelNameWithSpace",
                                    "inputdataconfig.json",
                                    R"({"my data": {}})",
                                    {"inputdataconfig.json: channel name 'my data' is not valid"}},
                      BadConfigCase{"CheckpointConfigNotAnObject",
                                    "checkpointconfig.json",
                                    "\"x\"",
                                    {"checkpointconfig.json", "$"}}),
    [](const ::testing::TestParamInfo<BadConfigCase>& info) { return info.param.name; });

struct BadSettingCase {
  std::string variable;
  std::string value;
};

class BadSettingTest : public ::testing::TestWithParam<BadSettingCase> {};

TEST_P(BadSettingTest, Exit65NamingTheVariable) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py",
                      "import os\nopen(os.path.join(os.environ['E2E_SCRATCH'], 'ran'), 'w')\n");
  ProcessResult r = job.run_train({{GetParam().variable, GetParam().value}});
  EXPECT_EQ(r.exit_code, 65) << r.err;
  EXPECT_NE(r.err.find(GetParam().variable), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'" + GetParam().value + "'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(job.scratch() / "ran"));
  EXPECT_FALSE(fs::exists(job.success_file()));
  // Like every other exit code, a bad setting leaves output/failure with the same line.
  ASSERT_TRUE(fs::exists(job.failure_file())) << r.err;
  const std::string failure = read_file(job.failure_file());
  EXPECT_NE(failure.find("environment variable " + GetParam().variable + "='" + GetParam().value +
                         "': expected "),
            std::string::npos)
      << failure;
  EXPECT_NE(r.err.find("Encountered exit_code 65"), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(E2e, BadSettingTest,
                         ::testing::Values(BadSettingCase{"SMRUN_TERM_GRACE_SECONDS", "abc"},
                                           BadSettingCase{"SMRUN_TERM_GRACE_SECONDS", "-1"},
                                           BadSettingCase{"SMRUN_PACK_MODEL", "maybe"},
                                           BadSettingCase{"SMRUN_PACK_LEVEL", "99"},
                                           BadSettingCase{"SMRUN_NUM_CPUS", "four"},
                                           BadSettingCase{"SMRUN_NUM_GPUS", "1.5"},
                                           // Read up front even when this job (one process,
                                           // no S3, no cluster) would not use them.
                                           BadSettingCase{"SMRUN_LOG_PREFIX", "maybe"},
                                           BadSettingCase{"SMRUN_CONTROL_PORT", "0"},
                                           BadSettingCase{"SMRUN_S3_PART_SIZE_MB", "4"},
                                           BadSettingCase{"SMRUN_HOST_ADDRESSES", "algo-1"},
                                           BadSettingCase{"SMRUN_MPI_SSHD", "sshd -D"}),
                         [](const ::testing::TestParamInfo<BadSettingCase>& info) {
                           return info.param.variable + "_" + std::to_string(info.index);
                         });

// A misspelt setting would otherwise be ignored without a word.
TEST(UnknownSetting, IsNamedInAWarningAndTheJobRuns) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py", "print('ran')\n");
  ProcessResult r = job.run_train({{"SMRUN_TERM_GRACE_SECOND", "5"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("WARNING  SMRUN_TERM_GRACE_SECOND is not an smrun setting (see smrun train "
                       "--help); it is ignored\n"),
            std::string::npos)
      << r.err;
}

TEST(MissingCode, NoEntryPointExits66) {
  JobDir job;
  job.write_sdk_hyperparameters({{"lr", 0.1}});
  ProcessResult r = job.run_train();
  EXPECT_EQ(r.exit_code, 66) << r.err;
  EXPECT_NE(r.err.find("no entry point"), std::string::npos) << r.err;
  ASSERT_TRUE(fs::exists(job.failure_file()));
  EXPECT_NE(read_file(job.failure_file()).find("no entry point"), std::string::npos);
  EXPECT_FALSE(fs::exists(job.success_file()));
}

TEST(MissingCode, MissingCommandEntryPointExits127) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "nope.sh"}});
  job.write_code_file("other.sh", "#!/bin/sh\nexit 0\n");  // code dir not empty
  ProcessResult r = job.run_train();
  EXPECT_EQ(r.exit_code, 127) << r.err;
  ASSERT_TRUE(fs::exists(job.failure_file()));
  const std::string failure = read_file(job.failure_file());
  EXPECT_NE(failure.find("nope.sh"), std::string::npos) << failure;
  EXPECT_NE(failure.find("not found"), std::string::npos) << failure;
  // The log names the exit code the job really ends with.
  EXPECT_NE(r.err.find("Encountered exit_code 127"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Encountered exit_code 66"), std::string::npos) << r.err;
}

TEST(MissingCode, MissingPythonScriptFailsWithPythonsExitCode) {
  // The interpreter itself reports the missing file (exit 2, "can't open file").
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "nope.py"}});
  job.write_code_file("other.py", "pass\n");
  ProcessResult r = job.run_train();
  EXPECT_EQ(r.exit_code, 2) << r.err;
  ASSERT_TRUE(fs::exists(job.failure_file()));
  const std::string failure = read_file(job.failure_file());
  EXPECT_EQ(first_line(failure), "ExecuteUserScriptError: nope.py exited with code 2 on algo-1")
      << failure;
  EXPECT_NE(failure.find("can't open file"), std::string::npos) << failure;
}

TEST(MissingCode, MissingInterpreterExits127) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py", "pass\n");
  ProcessResult r = job.run_train({{"SMRUN_PYTHON", "/nonexistent/python3"}});
  EXPECT_EQ(r.exit_code, 127) << r.err;
  ASSERT_TRUE(fs::exists(job.failure_file()));
  EXPECT_NE(read_file(job.failure_file()).find("/nonexistent/python3"), std::string::npos)
      << read_file(job.failure_file());
}

}  // namespace
}  // namespace smrun::test::e2e
