// `smrun env`: the dry run prints what `train` would run (environment, argv, cwd) in JSON,
// dotenv or shell form, masks secret-looking values, and touches nothing.

#include <gtest/gtest.h>

#include <sstream>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

constexpr const char* kSecret = "hunter2-very-secret";
const std::string kMsg = "it's \"quoted\" $HOME `id` ; \\ back \xc3\xa9";
const std::string kMultiline = "line one\nline 'two'";

class EnvCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nlohmann::ordered_json hps = {
        {"sagemaker_program", "train.py"}, {"lr", 0.1}, {"msg", kMsg}, {"db_password", kSecret}};
    job.write_sdk_hyperparameters(hps);
    job.write_input_data_config(R"({"train": {}, "eval": {}})");
    job.write_code_file("train.py", "raise SystemExit('the dry run must not run me')\n");
  }
  nlohmann::json run_json(const std::vector<std::string>& args = {}) {
    ProcessResult r = job.run_env(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    last_stdout = r.out;
    try {
      return nlohmann::json::parse(r.out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "smrun env did not print JSON: " << e.what() << "\n" << r.out;
      return nlohmann::json::object();
    }
  }
  JobDir job;
  std::string last_stdout;
};

TEST_F(EnvCommandTest, JsonShowsCommandCwdAndEnvironment) {
  nlohmann::json out = run_json({"--show-secrets"});
  ASSERT_TRUE(out.contains("env"));
  ASSERT_TRUE(out.at("env").is_object());
  const std::vector<std::string> args = {"--db_password", kSecret, "--lr", "0.1", "--msg", kMsg};
  EXPECT_EQ(out.at("user_args"), nlohmann::json(args));
  std::vector<std::string> command = {"/usr/bin/python3", "-u", "train.py"};
  command.insert(command.end(), args.begin(), args.end());
  EXPECT_EQ(out.at("command"), nlohmann::json(command));
  EXPECT_EQ(out.at("cwd"), job.code_dir().string());
  EXPECT_EQ(out.value("entry_point_kind", nlohmann::json()), "python_program");
  EXPECT_TRUE(out.value("install_command", nlohmann::json(0)).is_null());
  const nlohmann::json& env = out.at("env");
  EXPECT_EQ(env.at("SM_HP_MSG"), kMsg);
  EXPECT_EQ(env.at("SM_HP_LR"), "0.1");
  EXPECT_EQ(env.at("SM_CHANNEL_TRAIN"), (job.base() / "input/data/train").string());
  EXPECT_EQ(env.at("SM_CHANNELS"), R"(["eval","train"])");
  EXPECT_EQ(env.at("SM_NUM_CPUS"), "4");
  EXPECT_EQ(env.at("PYTHONPATH"), job.code_dir().string());
  EXPECT_EQ(env.at("CURRENT_HOST"), "algo-1");
  EXPECT_EQ(nlohmann::json::parse(env.at("SM_USER_ARGS").get<std::string>()), nlohmann::json(args));
  EXPECT_EQ(out.at("launcher"), "process");
  EXPECT_EQ(out.at("warnings"), nlohmann::json::array());
}

TEST_F(EnvCommandTest, DryRunCreatesAndRunsNothing) {
  // Also give it something to install and a submit dir it must not fetch.
  job.write_code_file("requirements.txt", "./does-not-exist\n");
  const auto before = tree_snapshot(job.base());
  const auto scratch_before = tree_snapshot(job.scratch());
  nlohmann::json out = run_json();
  EXPECT_EQ(tree_snapshot(job.base()), before);
  EXPECT_EQ(tree_snapshot(job.scratch()), scratch_before);
  EXPECT_FALSE(fs::exists(job.success_file()));
  EXPECT_FALSE(fs::exists(job.failure_file()));
  EXPECT_FALSE(fs::exists(job.model_dir()));
  EXPECT_EQ(out.value("install_command", nlohmann::json()),
            nlohmann::json({"/usr/bin/python3", "-m", "pip", "install", "-r", "requirements.txt"}));
}

TEST_F(EnvCommandTest, DryRunDoesNotExtractTheSubmitDir) {
  fs::remove_all(job.code_dir());
  fs::create_directories(job.code_dir());
  write_file(job.scratch() / "src" / "train.py", "print('x')\n");
  nlohmann::ordered_json hps = {{"sagemaker_program", "train.py"},
                                {"sagemaker_submit_directory", (job.scratch() / "src").string()}};
  job.write_sdk_hyperparameters(hps);
  const auto before = tree_snapshot(job.base());
  nlohmann::json out = run_json();
  EXPECT_EQ(tree_snapshot(job.base()), before);
  EXPECT_TRUE(fs::is_empty(job.code_dir()));
  EXPECT_EQ(out.at("cwd"), job.code_dir().string());
  EXPECT_EQ(out.at("env").at("SM_MODULE_DIR"), (job.scratch() / "src").string());
}

TEST_F(EnvCommandTest, SecretsAreMaskedByDefault) {
  nlohmann::json out = run_json();
  EXPECT_EQ(last_stdout.find(kSecret), std::string::npos) << "secret leaked:\n" << last_stdout;
  const nlohmann::json& env = out.at("env");
  EXPECT_EQ(env.at("SM_HP_DB_PASSWORD"), "****");
  nlohmann::json hps = nlohmann::json::parse(env.at("SM_HPS").get<std::string>());
  EXPECT_EQ(hps.at("db_password"), "****");
  EXPECT_EQ(hps.at("lr"), 0.1);  // only the secret is masked
  nlohmann::json training = nlohmann::json::parse(env.at("SM_TRAINING_ENV").get<std::string>());
  EXPECT_EQ(training.at("hyperparameters").at("db_password"), "****");
  EXPECT_EQ(out.at("user_args"),
            nlohmann::json({"--db_password", "****", "--lr", "0.1", "--msg", kMsg}));
  EXPECT_EQ(env.at("SM_HP_MSG"), kMsg);
}

TEST_F(EnvCommandTest, ShowSecretsRevealsThem) {
  nlohmann::json out = run_json({"--show-secrets"});
  EXPECT_EQ(out.at("env").at("SM_HP_DB_PASSWORD"), kSecret);
  nlohmann::json hps = nlohmann::json::parse(out.at("env").at("SM_HPS").get<std::string>());
  EXPECT_EQ(hps.at("db_password"), kSecret);
}

TEST_F(EnvCommandTest, SecretsAreMaskedInDotenvAndShellToo) {
  for (const char* format : {"dotenv", "shell"}) {
    ProcessResult r = job.run_env({"--format", format});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find(kSecret), std::string::npos) << format << ":\n" << r.out;
  }
}

// dotenv unescaping for the escapes smrun documents: \\ \" \n \r \$.
std::string dotenv_value(const std::string& line) {
  auto eq = line.find('=');
  std::string quoted = line.substr(eq + 1);
  EXPECT_GE(quoted.size(), 2u);
  EXPECT_EQ(quoted.front(), '"');
  EXPECT_EQ(quoted.back(), '"');
  std::string out;
  for (std::size_t i = 1; i + 1 < quoted.size(); ++i) {
    char c = quoted[i];
    if (c == '\\' && i + 2 < quoted.size()) {
      char n = quoted[++i];
      out += n == 'n' ? '\n' : n == 'r' ? '\r' : n;
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST_F(EnvCommandTest, DotenvHasOneLinePerVariableAndRoundTrips) {
  nlohmann::ordered_json hps = {
      {"sagemaker_program", "train.py"}, {"msg", kMsg}, {"multi", kMultiline}};
  job.write_sdk_hyperparameters(hps);
  nlohmann::json json_out = run_json({"--show-secrets"});
  ProcessResult r = job.run_env({"--format", "dotenv", "--show-secrets"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = lines_of(r.out);
  EXPECT_EQ(lines.size(), json_out.at("env").size()) << r.out;
  std::map<std::string, std::string> values;
  for (const auto& line : lines) {
    auto eq = line.find('=');
    ASSERT_NE(eq, std::string::npos) << line;
    values[line.substr(0, eq)] = dotenv_value(line);
  }
  for (const auto& [k, v] : json_out.at("env").items())
    EXPECT_EQ(values[k], v.get<std::string>()) << k;
  EXPECT_EQ(values["SM_HP_MSG"], kMsg);
  EXPECT_EQ(values["SM_HP_MULTI"], kMultiline);
}

TEST_F(EnvCommandTest, ShellFormatIsOneExportPerVariable) {
  nlohmann::json json_out = run_json();
  ProcessResult r = job.run_env({"--format", "shell"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = lines_of(r.out);
  EXPECT_EQ(lines.size(), json_out.at("env").size()) << r.out;
  for (const auto& line : lines)
    EXPECT_EQ(line.rfind("export SM_", 0) == 0 || line.rfind("export PYTHONPATH=", 0) == 0 ||
                  line.rfind("export SAGEMAKER_", 0) == 0 ||
                  line.rfind("export CURRENT_HOST=", 0) == 0,
              true)
        << line;
}

TEST_F(EnvCommandTest, ShellFormatRoundTripsThroughSh) {
  nlohmann::ordered_json hps = {
      {"sagemaker_program", "train.py"}, {"msg", kMsg}, {"multi", kMultiline}};
  job.write_sdk_hyperparameters(hps);
  ProcessResult r = job.run_env({"--format", "shell"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path file = job.scratch() / "env.sh";
  write_file(file, r.out);
  for (const auto& [name, expected] :
       std::map<std::string, std::string>{{"SM_HP_MSG", kMsg}, {"SM_HP_MULTI", kMultiline}}) {
    // Test data only: the script text is fixed, the file path is passed as $1.
    ProcessOptions options;
    options.argv = {"/bin/sh", "-c", ". \"$1\"; printf %s \"$" + name + "\"", "sh", file.string()};
    options.env = Env{{"PATH", "/usr/bin:/bin"}};
    ProcessResult sh = run_process(options);
    EXPECT_EQ(sh.exit_code, 0) << sh.err;
    EXPECT_EQ(sh.out, expected) << name;
  }
}

// A hyperparameter key is any JSON string; as SM_HP_<KEY> it may not be a variable name at all.
// Sourcing the shell output must never run anything: such variables are left out, with a warning.
TEST_F(EnvCommandTest, InvalidNamesAreLeftOutOfShellAndDotenvOutput) {
  const fs::path marker = job.scratch() / "x";
  nlohmann::ordered_json hps = {
      {"sagemaker_program", "train.py"}, {"a b;touch " + marker.string(), 1}, {"lr", 0.1}};
  job.write_sdk_hyperparameters(hps);
  nlohmann::json json_out = run_json();
  const std::string bad_name = "SM_HP_A B;TOUCH " + [&] {
    std::string upper = marker.string();
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return upper;
  }();
  ASSERT_TRUE(json_out.at("env").contains(bad_name)) << json_out.dump(2);  // JSON keeps it
  for (const char* format : {"shell", "dotenv"}) {
    ProcessResult r = job.run_env({"--format", format});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(lines_of(r.out).size(), json_out.at("env").size() - 1) << r.out;
    EXPECT_EQ(r.out.find("TOUCH"), std::string::npos) << r.out;
    EXPECT_NE(
        r.err.find("smrun: warning: left out " + bad_name + ": not a valid variable name for " +
                   format + " output (letters, digits and _ only)\n"),
        std::string::npos)
        << r.err;
    if (std::string(format) == "shell") {
      const fs::path file = job.scratch() / "env.sh";
      write_file(file, r.out);
      // Test data only: the script text is fixed, the file path is passed as $1.
      ProcessOptions options;
      options.argv = {"/bin/sh", "-c", ". \"$1\"; printf %s \"$SM_HP_LR\"", "sh", file.string()};
      options.env = Env{{"PATH", "/usr/bin:/bin"}};
      ProcessResult sh = run_process(options);
      EXPECT_EQ(sh.exit_code, 0) << sh.err;
      EXPECT_EQ(sh.out, "0.1");
    }
  }
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_FALSE(fs::exists(job.code_dir() / "x"));
}

TEST(EnvCommandPlan, PythonPackagePlan) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "pkg.py"}, {"lr", 0.1}});
  job.write_code_file("setup.py", "from setuptools import setup\nsetup(name='pkg')\n");
  job.write_code_file("pkg.py", "pass\n");
  job.write_code_file("requirements.txt", "numpy\n");
  ProcessResult r = job.run_env();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out.at("entry_point_kind"), "python_package");
  EXPECT_EQ(out.at("command"), nlohmann::json({"/usr/bin/python3", "-m", "pkg", "--lr", "0.1"}));
  EXPECT_EQ(out.at("install_command"), nlohmann::json({"/usr/bin/python3", "-m", "pip", "install",
                                                       ".", "-r", "requirements.txt"}));
}

TEST(EnvCommandPlan, ShellScriptPlans) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "run.sh"}, {"lr", 0.1}});
  job.write_code_file("run.sh", "#!/bin/bash -e\necho hi\n");
  job.write_code_file("requirements.txt", "numpy\n");
  ProcessResult r = job.run_env();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out.at("entry_point_kind"), "command");
  // Not executable: run through its #! line, interpreter argument kept as one word.
  EXPECT_EQ(out.at("command"), nlohmann::json({"/bin/bash", "-e", "./run.sh", "--lr", "0.1"}));
  EXPECT_TRUE(out.at("install_command").is_null());  // never for commands

  fs::permissions(job.code_dir() / "run.sh", fs::perms::owner_exec, fs::perm_options::add);
  r = job.run_env();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("command"),
            nlohmann::json({"./run.sh", "--lr", "0.1"}));
}

TEST(EnvCommandPlan, DryRunDoesNotChmodANonExecutableBinary) {
  // The dry run must leave the user's files exactly as they are, modes included: making a
  // binary executable is part of running it, not of planning.
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "trainer"}});
  fs::copy_file(SMRUN_NATIVE_TRAINER, job.code_dir() / "trainer");
  const auto mode = fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read;
  fs::permissions(job.code_dir() / "trainer", mode, fs::perm_options::replace);
  ProcessResult r = job.run_env();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("command"), nlohmann::json({"./trainer"}));
  const auto after = fs::status(job.code_dir() / "trainer").permissions();
  EXPECT_EQ(static_cast<unsigned>(after), static_cast<unsigned>(mode))
      << std::oct << "mode changed from 0" << static_cast<unsigned>(mode) << " to 0"
      << static_cast<unsigned>(after);
}

TEST(EnvCommandPlan, SecretsNestedInDictHyperparametersAreMasked) {
  JobDir job;
  nlohmann::ordered_json hps = {{"sagemaker_program", "train.py"},
                                {"db", {{"host", "db.local"}, {"password", "pa55-w0rd-xyz"}}}};
  job.write_sdk_hyperparameters(hps);
  job.write_code_file("train.py", "pass\n");
  ProcessResult r = job.run_env();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("pa55-w0rd-xyz"), std::string::npos) << r.out;
  nlohmann::json out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out.at("env").at("SM_HP_DB"), R"({"host":"db.local","password":"****"})");
  EXPECT_EQ(out.at("user_args"), nlohmann::json({"--db", "host=db.local,password=****"}));
}

}  // namespace
}  // namespace smrun::test::e2e
