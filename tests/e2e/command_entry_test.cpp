// Command entry points: shell scripts (executable or not, with or without "#!") and a compiled
// binary. smrun execs argv vectors, so every argument must arrive exactly as rendered.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

// Records "$0", every argument and the working directory, NUL-terminated.
constexpr const char* kArgsScriptBody =
    "printf '%s\\0' \"$0\" \"$@\" > \"$E2E_SCRATCH/args\"\n"
    "pwd > \"$E2E_SCRATCH/cwd\"\n"
    "printf '%s' \"$SM_HP_MSG\" > \"$E2E_SCRATCH/sm_hp_msg\"\n";

nlohmann::ordered_json hyperparameters_for(const std::string& program) {
  nlohmann::ordered_json hps = nlohmann::ordered_json::parse(R"json({
    "msg": "two words; $HOME `id` 'single' \"double\"\nnext line \u00e9",
    "glob": "*",
    "empty": "",
    "dash": "-n",
    "n": 3
  })json");
  hps["sagemaker_program"] = program;
  return hps;
}

const std::vector<std::string> kExpectedArgs = {
    "--dash", "-n", "--empty", "",
    "--glob", "*",  "--msg",   "two words; $HOME `id` 'single' \"double\"\nnext line \xc3\xa9",
    "-n",     "3",
};

class ShellEntryTest : public ::testing::Test {
 protected:
  void check_arguments(const std::string& expected_argv0) {
    ASSERT_TRUE(fs::exists(job.scratch() / "args")) << "the script did not run";
    std::vector<std::string> recorded = read_nul_records(job.scratch() / "args");
    ASSERT_FALSE(recorded.empty());
    EXPECT_EQ(recorded.front(), expected_argv0);
    EXPECT_EQ(std::vector<std::string>(recorded.begin() + 1, recorded.end()), kExpectedArgs);
    EXPECT_EQ(read_file(job.scratch() / "cwd"), fs::canonical(job.code_dir()).string() + "\n");
    EXPECT_EQ(read_file(job.scratch() / "sm_hp_msg"),
              "two words; $HOME `id` 'single' \"double\"\nnext line \xc3\xa9");
  }
  JobDir job;
};

TEST_F(ShellEntryTest, NonExecutableShebangScriptGetsExactArgs) {
  job.write_sdk_hyperparameters(hyperparameters_for("run.sh"));
  job.write_code_file("run.sh", std::string("#!/bin/sh\n") + kArgsScriptBody, false);
  ProcessResult r = job.run_train();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  check_arguments("./run.sh");
  EXPECT_TRUE(fs::exists(job.success_file()));
}

TEST_F(ShellEntryTest, ExecutableShebangScriptGetsExactArgs) {
  job.write_sdk_hyperparameters(hyperparameters_for("run.sh"));
  job.write_code_file("run.sh", std::string("#!/bin/sh\n") + kArgsScriptBody, true);
  ProcessResult r = job.run_train();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  check_arguments("./run.sh");
}

TEST_F(ShellEntryTest, ExtensionlessScriptWithoutShebangRunsUnderSh) {
  job.write_sdk_hyperparameters(hyperparameters_for("launcher"));
  job.write_code_file("launcher", kArgsScriptBody, false);
  ProcessResult r = job.run_train();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  check_arguments("./launcher");
}

TEST_F(ShellEntryTest, ScriptExitCodeIsPropagated) {
  job.write_sdk_hyperparameters({{"sagemaker_program", "run.sh"}});
  job.write_code_file("run.sh", "#!/bin/sh\necho 'about to fail' >&2\nexit 42\n");
  ProcessResult r = job.run_train();
  EXPECT_EQ(r.exit_code, 42) << r.err;
  ASSERT_TRUE(fs::exists(job.failure_file()));
  EXPECT_EQ(first_line(read_file(job.failure_file())),
            "ExecuteUserScriptError: run.sh exited with code 42 on algo-1");
  EXPECT_NE(read_file(job.failure_file()).find("about to fail"), std::string::npos);
}

TEST_F(ShellEntryTest, RequirementsAreNotInstalledForCommands) {
  // Reference: requirements.txt is only installed for Python programs and packages; a broken
  // one must therefore not stop a shell entry point.
  job.write_sdk_hyperparameters({{"sagemaker_program", "run.sh"}});
  job.write_code_file("run.sh", "#!/bin/sh\n: > \"$E2E_SCRATCH/ran\"\n");
  job.write_code_file("requirements.txt", "./does-not-exist\n");
  ProcessResult r = job.run_train();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(job.scratch() / "ran"));
}

class NativeEntryTest : public ::testing::Test {
 protected:
  void install_trainer(fs::perms perms) {
    fs::copy_file(SMRUN_NATIVE_TRAINER, job.code_dir() / "trainer");
    fs::permissions(job.code_dir() / "trainer", perms, fs::perm_options::replace);
    job.write_sdk_hyperparameters(hyperparameters_for("trainer"));
  }
  Env trainer_env(const std::string& exit_code) const {
    return {{"E2E_TRAINER_ARGV_FILE", (job.scratch() / "argv").string()},
            {"E2E_TRAINER_ENV_FILE", (job.scratch() / "env").string()},
            {"E2E_TRAINER_ENV_NAMES", "SM_MODEL_DIR,SM_HP_MSG,SM_CURRENT_HOST,PATH,MY_VAR"},
            {"E2E_TRAINER_CWD_FILE", (job.scratch() / "cwd").string()},
            {"E2E_TRAINER_EXIT_CODE", exit_code},
            {"MY_VAR", "inherited"}};
  }
  JobDir job;
};

TEST_F(NativeEntryTest, ArgvEnvAndCwdAreExact) {
  install_trainer(fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  ProcessResult r = job.run_train(trainer_env("0"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> argv = read_nul_records(job.scratch() / "argv");
  ASSERT_FALSE(argv.empty());
  EXPECT_EQ(argv.front(), "./trainer");
  EXPECT_EQ(std::vector<std::string>(argv.begin() + 1, argv.end()), kExpectedArgs);
  EXPECT_EQ(
      read_nul_records(job.scratch() / "env"),
      (std::vector<std::string>{
          "SM_MODEL_DIR=" + job.model_dir().string(),
          "SM_HP_MSG=two words; $HOME `id` 'single' \"double\"\nnext line \xc3\xa9",
          "SM_CURRENT_HOST=algo-1", "PATH=/usr/local/bin:/usr/bin:/bin", "MY_VAR=inherited"}));
  EXPECT_EQ(read_file(job.scratch() / "cwd"), fs::canonical(job.code_dir()).string());
  EXPECT_TRUE(fs::exists(job.success_file()));
}

TEST_F(NativeEntryTest, ExitCodeIsPropagated) {
  install_trainer(fs::perms::owner_all);
  ProcessResult r = job.run_train(trainer_env("5"));
  EXPECT_EQ(r.exit_code, 5) << r.err;
  ASSERT_TRUE(fs::exists(job.failure_file()));
  EXPECT_EQ(first_line(read_file(job.failure_file())),
            "ExecuteUserScriptError: trainer exited with code 5 on algo-1");
  EXPECT_FALSE(fs::exists(job.success_file()));
}

TEST_F(NativeEntryTest, NonExecutableBinaryIsMadeExecutableWithoutWriteBits) {
  install_trainer(fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                  fs::perms::others_read);
  ProcessResult r = job.run_train(trainer_env("0"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(job.scratch() / "argv"));
  struct stat st {};
  ASSERT_EQ(stat((job.code_dir() / "trainer").c_str(), &st), 0);
  EXPECT_NE(st.st_mode & S_IXUSR, 0u);
  EXPECT_EQ(st.st_mode & (S_IWGRP | S_IWOTH), 0u);  // never the reference's chmod 777
}

}  // namespace
}  // namespace smrun::test::e2e
