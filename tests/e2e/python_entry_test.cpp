// `smrun train` with a Python script entry point: argv, environment, cwd, outcome files and the
// model archive, checked from inside the user process.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

// Hyperparameters that break any shell-string or naive quoting on the way to argv.
nlohmann::ordered_json tricky_hyperparameters() {
  return nlohmann::ordered_json::parse(R"json({
    "msg": "a b $HOME `x` ; \n \u00e9",
    "quotes": "it's \"double\" and 'single'",
    "obj": {"b": 2, "a": [1, "x"]},
    "list": [1, "two", null, true],
    "unicode": "\u00e9 \u65e5\u672c \ud83c\udf89",
    "lr": 0.001,
    "epochs": 10,
    "z_last": "\"wrapped\"",
    "sagemaker_program": "train.py",
    "sagemaker_job_name": "job-7",
    "sagemaker_region": "eu-central-1"
  })json");
}

// Sorted by key; Python str()/repr() of each decoded value. The last element keeps its quotes
// (smrun deliberately drops the reference's strip('"') of the last argument).
const std::vector<std::string> kTrickyArgv = {
    "--epochs",  "10",
    "--list",    "[1, 'two', None, True]",
    "--lr",      "0.001",
    "--msg",     "a b $HOME `x` ; \n \xc3\xa9",
    "--obj",     "a=[1, 'x'],b=2",
    "--quotes",  "it's \"double\" and 'single'",
    "--unicode", "\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89",
    "--z_last",  "\"wrapped\"",
};

// The 37 properties of the reference's Environment (reference-toolkit.md §2.3).
const std::set<std::string> kTrainingEnvKeys = {"additional_framework_parameters",
                                                "channel_input_dirs",
                                                "current_host",
                                                "current_instance_group",
                                                "current_instance_group_hosts",
                                                "current_instance_type",
                                                "distribution_hosts",
                                                "distribution_instance_groups",
                                                "framework_module",
                                                "hosts",
                                                "hyperparameters",
                                                "input_config_dir",
                                                "input_data_config",
                                                "input_dir",
                                                "instance_groups",
                                                "instance_groups_dict",
                                                "is_hetero",
                                                "is_master",
                                                "is_modelparallel_enabled",
                                                "is_smddpmprun_installed",
                                                "is_smddprun_installed",
                                                "job_name",
                                                "log_level",
                                                "master_hostname",
                                                "model_dir",
                                                "module_dir",
                                                "module_name",
                                                "network_interface_name",
                                                "num_cpus",
                                                "num_gpus",
                                                "num_neurons",
                                                "output_data_dir",
                                                "output_dir",
                                                "output_intermediate_dir",
                                                "resource_config",
                                                "topology",
                                                "user_entry_point"};

// Exported variable names from env-spec/variables.json whose "when" is "always".
std::set<std::string> always_exported_sm_names() {
  auto spec = nlohmann::json::parse(read_file(source_dir() / "env-spec" / "variables.json"));
  std::set<std::string> names;
  for (const auto& v : spec.at("variables")) {
    if (v.at("direction") != "exports") continue;
    const std::string name = v.at("name");
    if (name.rfind("SM_", 0) != 0) continue;
    if (v.value("when", std::string("always")) != "always") continue;
    names.insert(name);
  }
  return names;
}

std::string pattern_name(const std::string& name) {
  if (name.rfind("SM_HP_", 0) == 0) return "SM_HP_<NAME>";
  if (name.rfind("SM_CHANNEL_", 0) == 0 && name != "SM_CHANNELS") return "SM_CHANNEL_<NAME>";
  return name;
}

class PythonEntryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    job.write_code_file("train.py", kPythonProbe);
    job.write_input_data_config(R"({"train": {"TrainingInputMode": "File"}})");
  }
  Env probe_env(Env extra = {}) const {
    extra["E2E_PROBE_OUT"] = (job.scratch() / "probe.json").string();
    return extra;
  }
  JobDir job;
};

TEST_F(PythonEntryTest, ArgvIsTheReferenceRenderingByteExact) {
  job.write_sdk_hyperparameters(tricky_hyperparameters());
  ProcessResult r = job.run_train(probe_env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json probe = read_probe(job.scratch() / "probe.json");
  ASSERT_FALSE(probe.is_null());
  std::vector<std::string> argv = probe.at("argv");
  ASSERT_FALSE(argv.empty());
  EXPECT_EQ(argv.front(), "train.py");
  EXPECT_EQ(std::vector<std::string>(argv.begin() + 1, argv.end()), kTrickyArgv);
}

TEST_F(PythonEntryTest, HyperparameterVariablesAreByteExact) {
  job.write_sdk_hyperparameters(tricky_hyperparameters());
  ProcessResult r = job.run_train(probe_env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json probe = read_probe(job.scratch() / "probe.json");
  ASSERT_FALSE(probe.is_null());
  const nlohmann::json& env = probe.at("env");
  EXPECT_EQ(env.at("SM_HP_MSG"), "a b $HOME `x` ; \n \xc3\xa9");
  EXPECT_EQ(env.at("SM_HP_QUOTES"), "it's \"double\" and 'single'");
  EXPECT_EQ(env.at("SM_HP_OBJ"), R"({"a":[1,"x"],"b":2})");
  EXPECT_EQ(env.at("SM_HP_LIST"), R"([1,"two",null,true])");
  EXPECT_EQ(env.at("SM_HP_UNICODE"), "\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89");
  EXPECT_EQ(env.at("SM_HP_LR"), "0.001");
  EXPECT_EQ(env.at("SM_HP_EPOCHS"), "10");
  EXPECT_EQ(env.at("SM_HP_Z_LAST"), "\"wrapped\"");
  EXPECT_EQ(env.at("SM_HPS"),
            R"({"epochs":10,"list":[1,"two",null,true],"lr":0.001,)"
            R"("msg":"a b $HOME `x` ; \n \u00e9","obj":{"a":[1,"x"],"b":2},)"
            R"("quotes":"it's \"double\" and 'single'",)"
            R"("unicode":"\u00e9 \u65e5\u672c \ud83c\udf89","z_last":"\"wrapped\""})");
  EXPECT_EQ(nlohmann::json::parse(env.at("SM_USER_ARGS").get<std::string>()),
            nlohmann::json(kTrickyArgv));
  // Reserved names never become SM_HP_*.
  EXPECT_FALSE(env.contains("SM_HP_SAGEMAKER_PROGRAM"));
  EXPECT_FALSE(env.contains("SM_HP_SAGEMAKER_JOB_NAME"));
}

TEST_F(PythonEntryTest, RawUtf8HyperparametersFileArrivesExact) {
  // Not every writer escapes non-ASCII: raw UTF-8 in the file must decode the same.
  job.write_hyperparameters_json(
      "{\"sagemaker_program\": \"\\\"train.py\\\"\", \"name\": \"\\\"caf\xc3\xa9 "
      "\xf0\x9f\x9a\x80\\\"\"}");
  ProcessResult r = job.run_train(probe_env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json probe = read_probe(job.scratch() / "probe.json");
  ASSERT_FALSE(probe.is_null());
  EXPECT_EQ(probe.at("argv"),
            nlohmann::json::parse(R"(["train.py", "--name", "caf\u00e9 \ud83d\ude80"])"));
  EXPECT_EQ(probe.at("env").at("SM_HP_NAME"), "caf\xc3\xa9 \xf0\x9f\x9a\x80");
}

TEST_F(PythonEntryTest, ProcessEnvironmentCwdAndPythonPath) {
  job.write_sdk_hyperparameters(tricky_hyperparameters());
  ProcessResult r =
      job.run_train(probe_env({{"MY_VAR", "1"}, {"PYTHONPATH", "/nonexistent/extra"}}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json probe = read_probe(job.scratch() / "probe.json");
  ASSERT_FALSE(probe.is_null());
  const nlohmann::json& env = probe.at("env");
  EXPECT_EQ(fs::path(probe.at("cwd").get<std::string>()), fs::canonical(job.code_dir()));
  EXPECT_EQ(env.at("PYTHONPATH"), job.code_dir().string() + ":/nonexistent/extra");
  std::vector<std::string> sys_path = probe.at("sys_path");
  EXPECT_NE(std::find(sys_path.begin(), sys_path.end(), job.code_dir().string()), sys_path.end());
  EXPECT_EQ(env.at("SAGEMAKER_JOB_NAME"), "job-7");
  EXPECT_EQ(env.at("CURRENT_HOST"), "algo-1");
  EXPECT_EQ(env.at("SAGEMAKER_REGION"), "eu-central-1");
  EXPECT_EQ(env.at("MY_VAR"), "1");  // inherited untouched
  EXPECT_EQ(env.at("SM_MODEL_DIR"), job.model_dir().string());
  EXPECT_EQ(env.at("SM_CHANNEL_TRAIN"), (job.base() / "input" / "data" / "train").string());
  EXPECT_EQ(env.at("SM_CURRENT_HOST"), "algo-1");
  EXPECT_EQ(env.at("SM_NUM_CPUS"), "4");
  EXPECT_EQ(env.at("SM_NUM_GPUS"), "0");
  EXPECT_EQ(env.at("SM_NUM_NEURONS"), "0");
  EXPECT_EQ(env.at("SM_USER_ENTRY_POINT"), "train.py");
  EXPECT_EQ(env.at("SM_MODULE_NAME"), "train");
  EXPECT_EQ(env.at("SM_MODULE_DIR"), job.code_dir().string());
}

TEST_F(PythonEntryTest, SmVariableNamesMatchEnvSpec) {
  job.write_sdk_hyperparameters(tricky_hyperparameters());
  ProcessResult r = job.run_train(probe_env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json probe = read_probe(job.scratch() / "probe.json");
  ASSERT_FALSE(probe.is_null());
  std::set<std::string> seen;
  for (const auto& [name, _] : probe.at("env").items())
    if (name.rfind("SM_", 0) == 0) seen.insert(pattern_name(name));
  EXPECT_EQ(seen, always_exported_sm_names());
}

TEST_F(PythonEntryTest, TrainingEnvHasExactly37Keys) {
  job.write_sdk_hyperparameters(tricky_hyperparameters());
  ProcessResult r = job.run_train(probe_env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json probe = read_probe(job.scratch() / "probe.json");
  ASSERT_FALSE(probe.is_null());
  nlohmann::json training =
      nlohmann::json::parse(probe.at("env").at("SM_TRAINING_ENV").get<std::string>());
  std::set<std::string> keys;
  for (const auto& [k, _] : training.items()) keys.insert(k);
  EXPECT_EQ(keys, kTrainingEnvKeys);
  EXPECT_EQ(keys.size(), 37u);
  EXPECT_EQ(training.at("hyperparameters").at("msg"), "a b $HOME `x` ; \n \xc3\xa9");
  EXPECT_EQ(training.at("module_dir"), job.code_dir().string());
  EXPECT_EQ(training.at("is_master"), true);
  EXPECT_EQ(training.at("master_hostname"), "algo-1");
  EXPECT_EQ(training.at("topology"), nlohmann::json::array());
  EXPECT_TRUE(training.at("job_name").is_null());
  EXPECT_TRUE(training.at("is_modelparallel_enabled").is_null());
}

TEST_F(PythonEntryTest, SuccessWritesMarkerAndModelArchive) {
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  ProcessResult r = job.run_train(probe_env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(job.success_file()));
  EXPECT_EQ(fs::file_size(job.success_file()), 0u);
  EXPECT_FALSE(fs::exists(job.failure_file()));
  EXPECT_NE(r.err.find("Reporting training SUCCESS"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("probe done"), std::string::npos) << "user stdout not passed through";
  ASSERT_TRUE(fs::exists(job.default_archive()));
  EXPECT_EQ(tar_members(job.default_archive()),
            (std::vector<std::string>{"model.txt", "sub/extra.bin"}));
}

TEST_F(PythonEntryTest, PackModelOffWritesNoArchive) {
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  ProcessResult r = job.run_train(probe_env({{"SMRUN_PACK_MODEL", "0"}}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(job.success_file()));
  EXPECT_FALSE(fs::exists(job.default_archive()));
  EXPECT_TRUE(fs::exists(job.model_dir() / "model.txt"));  // the model dir itself is kept
}

TEST_F(PythonEntryTest, ModelArchivePathIsConfigurable) {
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  const fs::path archive = job.scratch() / "elsewhere.tar.gz";
  ProcessResult r = job.run_train(probe_env({{"SMRUN_MODEL_ARCHIVE", archive.string()}}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(job.default_archive()));
  ASSERT_TRUE(fs::exists(archive));
  EXPECT_EQ(tar_members(archive), (std::vector<std::string>{"model.txt", "sub/extra.bin"}));
}

// With SMRUN_PACK_MODEL=required (by default the job succeeds anyway: pack_test.cpp).
TEST_F(PythonEntryTest, UnwritableModelArchiveIsAPackError) {
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  const fs::path archive = job.scratch() / "missing" / "dir" / "model.tar.gz";
  ProcessResult r = job.run_train(
      probe_env({{"SMRUN_MODEL_ARCHIVE", archive.string()}, {"SMRUN_PACK_MODEL", "required"}}));
  EXPECT_EQ(r.exit_code, 68) << r.err;
  EXPECT_FALSE(fs::exists(archive));
  EXPECT_FALSE(fs::exists(job.success_file()));
  ASSERT_TRUE(fs::exists(job.failure_file()));
  const std::string failure = read_file(job.failure_file());
  EXPECT_EQ(failure.rfind("ModelPackError:", 0), 0u) << failure;
  EXPECT_NE(failure.find(archive.string()), std::string::npos) << failure;
}

TEST_F(PythonEntryTest, SagemakerProgramVariableWinsOverHyperparameter) {
  job.write_sdk_hyperparameters({{"sagemaker_program", "other.py"}, {"lr", 0.5}});
  job.write_code_file("other.py", "import sys\nsys.exit(9)\n");
  ProcessResult r = job.run_train(probe_env({{"SAGEMAKER_PROGRAM", "train.py"}}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json probe = read_probe(job.scratch() / "probe.json");
  ASSERT_FALSE(probe.is_null());
  EXPECT_EQ(probe.at("argv"), nlohmann::json::parse(R"(["train.py", "--lr", "0.5"])"));
}

// --- failures ---------------------------------------------------------------------------------

class FailingScriptTest : public ::testing::Test {
 protected:
  void SetUp() override { job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}}); }
  JobDir job;
};

TEST_F(FailingScriptTest, UncaughtExceptionReportsTheExceptionLine) {
  job.write_code_file("train.py",
                      "import sys\n"
                      "def configure(lr):\n"
                      "    raise ValueError('bad lr')\n"
                      "print('starting', flush=True)\n"
                      "configure(0.1)\n");
  ProcessResult r = job.run_train();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_FALSE(fs::exists(job.success_file()));
  EXPECT_FALSE(fs::exists(job.default_archive()));
  ASSERT_TRUE(fs::exists(job.failure_file()));
  const std::string failure = read_file(job.failure_file());
  EXPECT_EQ(
      first_line(failure).rfind("ExecuteUserScriptError: train.py exited with code 1 on algo-1", 0),
      0u)
      << failure;
  EXPECT_EQ(line_at(failure, 1), "ValueError: bad lr") << failure;
  EXPECT_NE(failure.substr(0, 1024).find("ValueError: bad lr"), std::string::npos);
  EXPECT_NE(failure.find("Traceback (most recent call last):"), std::string::npos) << failure;
  EXPECT_NE(r.err.find("Reporting training FAILURE"), std::string::npos) << r.err;
  // The user's stderr is relayed, not swallowed.
  EXPECT_NE(r.err.find("ValueError: bad lr"), std::string::npos);
}

TEST_F(FailingScriptTest, ExitCodeIsPropagated) {
  job.write_code_file("train.py", "import sys\nsys.exit(3)\n");
  ProcessResult r = job.run_train();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  ASSERT_TRUE(fs::exists(job.failure_file()));
  EXPECT_EQ(first_line(read_file(job.failure_file())),
            "ExecuteUserScriptError: train.py exited with code 3 on algo-1");
  EXPECT_FALSE(fs::exists(job.success_file()));
}

TEST_F(FailingScriptTest, UserWrittenFailureFileIsKept) {
  job.write_code_file("train.py",
                      "import os, sys\n"
                      "path = os.path.join(os.environ['SM_OUTPUT_DIR'], 'failure')\n"
                      "with open(path, 'w') as f:\n"
                      "    f.write('my own reason\\nline two\\n')\n"
                      "sys.exit(2)\n");
  ProcessResult r = job.run_train();
  EXPECT_EQ(r.exit_code, 2) << r.err;
  ASSERT_TRUE(fs::exists(job.failure_file()));
  EXPECT_EQ(read_file(job.failure_file()), "my own reason\nline two\n");
}

}  // namespace
}  // namespace smrun::test::e2e
