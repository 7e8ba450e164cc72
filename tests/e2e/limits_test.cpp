// Hostile sizes through the real binary: 100 000 hyperparameters, megabyte values, 10 000
// channels, deep nesting, invalid UTF-8 and huge config files. Every run must finish within a
// time bound and a memory bound (peak RSS of smrun and what it ran, from wait4), and end in an
// exact outcome: either the user program receives everything exactly, or smrun refuses with one
// clear line naming the file, hyperparameter or variable at fault.
//
// Linux caps what execve can pass: one argument or "NAME=VALUE" entry at MAX_ARG_STRLEN
// (32 pages, 128 KiB) and all of them together at a quarter of the stack limit. A job whose
// SM_HPS, SM_USER_ARGS, SM_TRAINING_ENV or SM_INPUT_DATA_CONFIG is longer than that cannot be
// started by any launcher (the Python reference fails the same way); smrun then says which
// entries are too long instead of a bare "Argument list too long".

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

using Clock = std::chrono::steady_clock;

// Generous on purpose; the point is "linear and bounded", which a quadratic step or an unbounded
// read misses by far (before it was fixed, building SM_HP_* for 100 000 hyperparameters took
// 76 s of CPU in a release build). The Debug ASan build runs this workload ~25x slower than
// release (about 21 s of CPU for 100 000 hyperparameters), so it gets more room on a loaded
// 2-core machine; quadratic behaviour would still take it hours.
#if defined(__SANITIZE_ADDRESS__)
constexpr auto kTimeBound = 90s;
#else
constexpr auto kTimeBound = 30s;
#endif
constexpr long kRssBoundKb = 1024L * 1024;  // 1 GiB, ASan's shadow and quarantine included

std::size_t max_arg_strlen() {
  return 32 * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

ProcessResult run_bounded(const JobDir& job, const std::vector<std::string>& args,
                          const Env& extra = {}) {
  const auto t0 = Clock::now();
  ProcessResult r = job.run_smrun(args, job.environment(extra), kTimeBound + 30s);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  EXPECT_LT(elapsed, kTimeBound) << "smrun " << args.front() << " took " << elapsed.count()
                                 << " ms";
  EXPECT_GT(r.max_rss_kb, 0);
  EXPECT_LT(r.max_rss_kb, kRssBoundKb) << "peak RSS " << r.max_rss_kb << " KiB";
  return r;
}

std::string hp_name(std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "hp_%06zu", i);
  return buf;
}

std::string hp_value(std::size_t i) {
  return "v" + std::to_string(i);
}

// hyperparameters.json as the SDK writes it for n string hyperparameters plus the program,
// built as text: the fixture's ordered_json writer looks keys up linearly.
std::string many_hyperparameters(std::size_t n) {
  std::string text = "{\"sagemaker_program\": \"\\\"train.py\\\"\"";
  for (std::size_t i = 0; i < n; ++i)
    text += ", \"" + hp_name(i) + "\": \"\\\"" + hp_value(i) + "\\\"\"";
  return text + "}";
}

// argv the reference renders for many_hyperparameters(n): sorted, "--name value".
std::vector<std::string> many_hyperparameter_args(std::size_t n) {
  std::vector<std::string> args;
  for (std::size_t i = 0; i < n; ++i) {
    args.push_back("--" + hp_name(i));
    args.push_back(hp_value(i));
  }
  return args;
}

std::size_t count_prefixed(const nlohmann::json& env, const std::string& prefix) {
  std::size_t n = 0;
  for (const auto& [k, v] : env.items())
    if (k.rfind(prefix, 0) == 0) ++n;
  return n;
}

// The program must not have run: it would create this marker.
constexpr const char* kMarkerScript =
    "import os\nopen(os.path.join(os.environ['E2E_SCRATCH'], 'ran'), 'w').close()\n";

// Checks smrun's refusal of an exec that Linux would not allow, and returns the failure file's
// first line for case-specific checks.
std::string expect_exec_refused(const JobDir& job, const ProcessResult& r) {
  EXPECT_EQ(r.exit_code, 126) << r.err.substr(r.err.size() > 4000 ? r.err.size() - 4000 : 0);
  EXPECT_FALSE(fs::exists(job.scratch() / "ran"));
  EXPECT_FALSE(fs::exists(job.success_file()));
  if (!fs::exists(job.failure_file())) {
    ADD_FAILURE() << "no failure file";
    return "";
  }
  const std::string line = first_line(read_file(job.failure_file()));
  EXPECT_EQ(
      line.rfind("UserCodeError: cannot execute '/usr/bin/python3': Argument list too long: ", 0),
      0u)
      << line;
  EXPECT_NE(line.find(" bytes Linux allows for one argument or environment variable: "),
            std::string::npos)
      << line;
  EXPECT_NE(line.find(std::to_string(max_arg_strlen())), std::string::npos) << line;
  EXPECT_NE(r.err.find(line.substr(std::string("UserCodeError: ").size())), std::string::npos)
      << "stderr does not carry the reason";
  return line;
}

// Runs `train` with kPythonProbe as the program; what it saw (argv, env), or null after a
// failure (reported).
nlohmann::json train_and_probe(const JobDir& job) {
  ProcessResult r =
      run_bounded(job, {"train"}, {{"E2E_PROBE_OUT", (job.scratch() / "p").string()}});
  EXPECT_EQ(r.exit_code, 0) << r.err.substr(0, 2000);
  if (r.exit_code != 0) return nullptr;
  return read_probe(job.scratch() / "p");
}

TEST(Limits, HundredThousandHyperparametersInTheDryRun) {
  JobDir job;
  constexpr std::size_t kCount = 100000;
  job.write_hyperparameters_json(many_hyperparameters(kCount));
  ProcessResult r = run_bounded(job, {"env"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json out = nlohmann::json::parse(r.out);
  const std::vector<std::string> args = out.at("user_args");
  EXPECT_EQ(args.size(), 2 * kCount);
  EXPECT_TRUE(args == many_hyperparameter_args(kCount)) << "user_args differ";
  const std::vector<std::string> command = out.at("command");
  ASSERT_EQ(command.size(), 3 + 2 * kCount);
  EXPECT_EQ(command[3], "--hp_000000");
  EXPECT_EQ(command.back(), "v99999");
  const nlohmann::json& env = out.at("env");
  EXPECT_EQ(count_prefixed(env, "SM_HP_"), kCount);
  EXPECT_EQ(env.value("SM_HP_HP_000000", "<unset>"), "v0");
  EXPECT_EQ(env.value("SM_HP_HP_054321", "<unset>"), "v54321");
  EXPECT_EQ(env.value("SM_HP_HP_099999", "<unset>"), "v99999");
  EXPECT_EQ(nlohmann::json::parse(env.at("SM_HPS").get<std::string>()).size(), kCount);
  // The dry run already says that train cannot exec this.
  ASSERT_EQ(out.at("warnings").size(), 1u) << out.at("warnings");
  const std::string warning = out.at("warnings")[0];
  EXPECT_EQ(warning.rfind("train would fail: Argument list too long: ", 0), 0u) << warning;
  EXPECT_NE(warning.find("SM_HPS ("), std::string::npos) << warning;
}

TEST(Limits, HundredThousandHyperparametersAreRefusedNamingWhatIsTooLong) {
  JobDir job;
  job.write_hyperparameters_json(many_hyperparameters(100000));
  job.write_code_file("train.py", kMarkerScript);
  ProcessResult r = run_bounded(job, {"train"});
  const std::string line = expect_exec_refused(job, r);
  // Each of these holds all 100 000 and is alone far over 128 KiB.
  for (const char* name : {"SM_HPS (", "SM_USER_ARGS (", "SM_TRAINING_ENV ("})
    EXPECT_NE(line.find(name), std::string::npos) << name << " not named: " << line;
  // And the whole list is over the total limit too: 3 + 200 000 arguments.
  EXPECT_NE(line.find("(200003 arguments, "), std::string::npos) << line;
  EXPECT_NE(line.find("a quarter of the stack size limit"), std::string::npos) << line;
}

TEST(Limits, FiveThousandHyperparametersReachTheProgramExactly) {
  JobDir job;
  constexpr std::size_t kCount = 5000;
  job.write_hyperparameters_json(many_hyperparameters(kCount));
  job.write_code_file("train.py", kPythonProbe);
  ProcessResult r =
      run_bounded(job, {"train"}, {{"E2E_PROBE_OUT", (job.scratch() / "p").string()}});
  ASSERT_EQ(r.exit_code, 0) << r.err.substr(0, 4000);
  nlohmann::json probe = read_probe(job.scratch() / "p");
  ASSERT_FALSE(probe.is_null());
  const std::vector<std::string> argv = probe.at("argv");
  ASSERT_EQ(argv.size(), 1 + 2 * kCount);
  EXPECT_TRUE(std::vector<std::string>(argv.begin() + 1, argv.end()) ==
              many_hyperparameter_args(kCount));
  const nlohmann::json& env = probe.at("env");
  EXPECT_EQ(count_prefixed(env, "SM_HP_"), kCount);
  for (std::size_t i : std::vector<std::size_t>{0, 1, 2500, 4999}) {
    std::string name = hp_name(i);
    for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(env.value("SM_HP_" + name, "<unset>"), hp_value(i)) << name;
  }
}

TEST(Limits, MegabyteValueIsRefusedNamingTheHyperparameter) {
  JobDir job;
  std::string big;
  while (big.size() < (1u << 20)) big += "zq";
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}, {"lr", 0.1}, {"big", big}});
  job.write_code_file("train.py", kMarkerScript);

  ProcessResult dry = run_bounded(job, {"env"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  nlohmann::json out = nlohmann::json::parse(dry.out);
  EXPECT_EQ(out.at("env").at("SM_HP_BIG"), big);
  EXPECT_EQ(out.at("user_args"), (nlohmann::json{"--big", big, "--lr", "0.1"}));
  ASSERT_EQ(out.at("warnings").size(), 1u) << out.at("warnings");
  const std::string warning = out.at("warnings")[0];
  EXPECT_NE(warning.find("argument 4, the value after '--big' (1048577 bytes), SM_HP_BIG ("),
            std::string::npos)
      << warning;
  EXPECT_EQ(warning.find("zqzq"), std::string::npos) << "the value itself was printed";

  ProcessResult r = run_bounded(job, {"train"});
  const std::string line = expect_exec_refused(job, r);
  // Smallest first: the value itself and its own variable lead, the aggregates follow.
  EXPECT_NE(line.find("5 entries are longer than the " + std::to_string(max_arg_strlen()) +
                      " bytes Linux allows for one argument or environment variable: "
                      "argument 4, the value after '--big' (1048577 bytes), "
                      "SM_HP_BIG (1048587 bytes), SM_HPS (1048603 bytes), "
                      "SM_USER_ARGS (1048615 bytes), SM_TRAINING_ENV ("),
            std::string::npos)
      << line;
  EXPECT_EQ(line.find("zqzq"), std::string::npos) << "the value itself was printed";
}

TEST(Limits, LargeValueUnderTheKernelLimitArrivesExactly) {
  JobDir job;
  std::string value;
  for (int i = 0; value.size() < 100000; ++i) value += std::to_string(i) + ",";
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}, {"big", value}});
  job.write_code_file("train.py", kPythonProbe);
  nlohmann::json probe = train_and_probe(job);
  ASSERT_FALSE(probe.is_null());
  EXPECT_EQ(probe.at("argv"), (nlohmann::json{"train.py", "--big", value}));
  EXPECT_EQ(probe.at("env").at("SM_HP_BIG"), value);
}

// inputdataconfig.json as the SDK writes it, and the channel directories as SageMaker mounts
// them: <base>/input/data/<channel>/ with the channel's files.
void write_channels(const JobDir& job, std::size_t n) {
  std::string config = "{";
  for (std::size_t i = 0; i < n; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "ch%05zu", i);
    config += std::string(i ? ", " : "") + "\"" + name + "\": {\"TrainingInputMode\": \"File\"}";
    write_file(job.base() / "input" / "data" / name / "part-0", "rows of " + std::string(name));
  }
  job.write_input_data_config(config + "}");
}

TEST(Limits, TenThousandChannelsInTheDryRun) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  write_channels(job, 10000);
  ProcessResult r = run_bounded(job, {"env"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json env = nlohmann::json::parse(r.out).at("env");
  EXPECT_EQ(count_prefixed(env, "SM_CHANNEL_"), 10000u);
  EXPECT_EQ(env.value("SM_CHANNEL_CH00000", ""), (job.base() / "input/data/ch00000").string());
  EXPECT_EQ(env.value("SM_CHANNEL_CH09999", ""), (job.base() / "input/data/ch09999").string());
  const nlohmann::json channels = nlohmann::json::parse(env.at("SM_CHANNELS").get<std::string>());
  ASSERT_EQ(channels.size(), 10000u);
  EXPECT_EQ(channels.front(), "ch00000");
  EXPECT_EQ(channels.back(), "ch09999");
}

TEST(Limits, TenThousandChannelsAreRefusedNamingWhatIsTooLong) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py", kMarkerScript);
  write_channels(job, 10000);
  ProcessResult r = run_bounded(job, {"train"});
  const std::string line = expect_exec_refused(job, r);
  EXPECT_NE(line.find("SM_INPUT_DATA_CONFIG ("), std::string::npos) << line;
  EXPECT_NE(line.find("SM_TRAINING_ENV ("), std::string::npos) << line;
}

TEST(Limits, FiveHundredChannelsAreAllVisibleToTheProgram) {
  JobDir job;
  constexpr std::size_t kCount = 500;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  write_channels(job, kCount);
  job.write_code_file("train.py",
                      "import json, os\n"
                      "seen = {}\n"
                      "for name in json.loads(os.environ['SM_CHANNELS']):\n"
                      "    d = os.environ['SM_CHANNEL_' + name.upper()]\n"
                      "    seen[name] = [d, sorted(os.listdir(d)),\n"
                      "                  open(os.path.join(d, 'part-0')).read()]\n"
                      "with open(os.path.join(os.environ['E2E_SCRATCH'], 'seen.json'), 'w') as f:\n"
                      "    json.dump(seen, f)\n");
  ProcessResult r = run_bounded(job, {"train"});
  ASSERT_EQ(r.exit_code, 0) << r.err.substr(0, 2000);
  const nlohmann::json seen = nlohmann::json::parse(read_file(job.scratch() / "seen.json"));
  ASSERT_EQ(seen.size(), kCount);
  for (std::size_t i = 0; i < kCount; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "ch%05zu", i);
    ASSERT_TRUE(seen.contains(name)) << name;
    EXPECT_EQ(seen.at(name),
              (nlohmann::json{(job.base() / "input" / "data" / name).string(),
                              nlohmann::json{"part-0"}, "rows of " + std::string(name)}));
  }
}

// --- nesting ----------------------------------------------------------------------------------

constexpr std::size_t kNestingLimit = 512;  // smrun's documented JSON nesting limit

std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

struct NestingCase {
  std::string file;
  std::string prefix;  // text before the nested value; the nested value is at depth 1
  std::string suffix;
};

void PrintTo(const NestingCase& c, std::ostream* os) {
  *os << c.file;
}

const std::vector<NestingCase>& nesting_cases() {
  static const std::vector<NestingCase> cases = {
      {"hyperparameters.json", "{\"sagemaker_program\": \"\\\"train.py\\\"\", \"deep\": ", "}"},
      {"resourceconfig.json",
       "{\"current_host\": \"algo-1\", \"hosts\": [\"algo-1\"], \"deep\": ", "}"},
      {"inputdataconfig.json", "{\"train\": ", "}"},
      {"checkpointconfig.json", "{\"LocalPath\": \"/tmp/ckpt\", \"deep\": ", "}"},
  };
  return cases;
}

class NestingTest : public ::testing::TestWithParam<NestingCase> {};

TEST_P(NestingTest, BeyondTheLimitIsOneClearLineAndExit65) {
  const NestingCase& c = GetParam();
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py", kMarkerScript);
  // Far beyond: a recursive parser without a limit would overflow its stack on this.
  const std::size_t depth = 100000;
  write_file(job.config_dir() / c.file, c.prefix + nested_arrays(depth) + c.suffix);
  const fs::path path = job.config_dir() / c.file;
  // The first '[' beyond the limit: the document's own object is level 1.
  const std::size_t column = c.prefix.size() + (kNestingLimit - 1) + 1;
  const std::string message = path.string() +
                              ": invalid JSON: Exceeds the nesting limit (512 "
                              "levels) while decoding a JSON array at line 1 column " +
                              std::to_string(column);

  ProcessResult dry = run_bounded(job, {"env"});
  EXPECT_EQ(dry.exit_code, 65);
  EXPECT_EQ(dry.err, "smrun: error: " + message + "\n");
  EXPECT_EQ(dry.out, "");

  ProcessResult r = run_bounded(job, {"train"});
  EXPECT_EQ(r.exit_code, 65) << r.err;
  EXPECT_FALSE(fs::exists(job.scratch() / "ran"));
  ASSERT_TRUE(fs::exists(job.failure_file()));
  EXPECT_NE(first_line(read_file(job.failure_file())).find(message), std::string::npos)
      << read_file(job.failure_file());
}

TEST_P(NestingTest, AtTheLimitWorks) {
  const NestingCase& c = GetParam();
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py", kPythonProbe);
  const std::string value = nested_arrays(kNestingLimit - 1);  // + the document's object
  write_file(job.config_dir() / c.file, c.prefix + value + c.suffix);
  nlohmann::json probe = train_and_probe(job);
  ASSERT_FALSE(probe.is_null());
  const nlohmann::json& env = probe.at("env");
  if (c.file == "hyperparameters.json") {
    // A non-string value stays as is: str() of the nested lists in argv, JSON in SM_HP_DEEP.
    EXPECT_EQ(probe.at("argv"), (nlohmann::json{"train.py", "--deep", value}));
    EXPECT_EQ(env.value("SM_HP_DEEP", ""), value);
  } else if (c.file == "resourceconfig.json") {
    EXPECT_NE(env.value("SM_RESOURCE_CONFIG", "").find("\"deep\":" + value), std::string::npos);
  } else if (c.file == "inputdataconfig.json") {
    EXPECT_EQ(env.value("SM_INPUT_DATA_CONFIG", ""), "{\"train\":" + value + "}");
  } else {
    EXPECT_EQ(env.value("SM_CHECKPOINT_DIR", ""), "/tmp/ckpt");
  }
}

INSTANTIATE_TEST_SUITE_P(E2e, NestingTest, ::testing::ValuesIn(nesting_cases()),
                         [](const ::testing::TestParamInfo<NestingCase>& info) {
                           std::string name = info.param.file.substr(0, info.param.file.find('.'));
                           return name;
                         });

TEST(Limits, DeeplyNestedHyperparameterTextIsPassedAsItIs) {
  // The SDK json.dumps'es every value; one that does not decode within the nesting limit stays
  // the string it is, like any other value that is not JSON.
  JobDir job;
  const std::string value = nested_arrays(50000);
  job.write_hyperparameters({{"sagemaker_program", "\"train.py\""}, {"deep", value}});
  job.write_code_file("train.py", kPythonProbe);
  nlohmann::json probe = train_and_probe(job);
  ASSERT_FALSE(probe.is_null());
  EXPECT_EQ(probe.at("argv"), (nlohmann::json{"train.py", "--deep", value}));
  EXPECT_EQ(probe.at("env").value("SM_HP_DEEP", ""), value);
}

// --- invalid UTF-8 ----------------------------------------------------------------------------

struct Utf8Case {
  std::string file;
  std::string before;  // ASCII text before the bad byte (so the column is its length + 1)
  std::string bad;     // the invalid sequence; its first byte is the one reported
  std::string after;
};

void PrintTo(const Utf8Case& c, std::ostream* os) {
  *os << c.file;
}

class InvalidUtf8Test : public ::testing::TestWithParam<Utf8Case> {};

TEST_P(InvalidUtf8Test, IsRefusedNamingFileAndPosition) {
  const Utf8Case& c = GetParam();
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py", kMarkerScript);
  const fs::path path = job.config_dir() / c.file;
  write_file(path, c.before + c.bad + c.after);
  char hex[8];
  std::snprintf(hex, sizeof(hex), "0x%02x", static_cast<unsigned char>(c.bad.front()));
  const std::string message = path.string() + ": invalid JSON: Invalid UTF-8 byte " + hex +
                              " at line 1 column " + std::to_string(c.before.size() + 1);

  ProcessResult dry = run_bounded(job, {"env"});
  EXPECT_EQ(dry.exit_code, 65);
  EXPECT_EQ(dry.err, "smrun: error: " + message + "\n");

  ProcessResult r = run_bounded(job, {"train"});
  EXPECT_EQ(r.exit_code, 65) << r.err;
  EXPECT_FALSE(fs::exists(job.scratch() / "ran"));
  ASSERT_TRUE(fs::exists(job.failure_file()));
  EXPECT_NE(first_line(read_file(job.failure_file())).find(message), std::string::npos)
      << read_file(job.failure_file());
}

INSTANTIATE_TEST_SUITE_P(
    E2e, InvalidUtf8Test,
    ::testing::Values(
        // A stray continuation byte, a truncated sequence, an overlong encoding, a byte that
        // never occurs in UTF-8: one per file.
        Utf8Case{"hyperparameters.json", "{\"sagemaker_program\": \"\\\"train.py\\\"\", \"x\": \"a",
                 "\xff", "\"}"},
        Utf8Case{"resourceconfig.json", "{\"current_host\": \"algo-1\", \"hosts\": [\"algo-",
                 "\xc3", "\"]}"},
        Utf8Case{"inputdataconfig.json", "{\"train", "\xc0\xaf", "\": {}}"},
        Utf8Case{"checkpointconfig.json", "{\"LocalPath\": \"/tmp/", "\x80", "\"}"}),
    [](const ::testing::TestParamInfo<Utf8Case>& info) {
      return info.param.file.substr(0, info.param.file.find('.'));
    });

// --- huge files -------------------------------------------------------------------------------

TEST(Limits, ConfigFileOverTheSizeLimitIsRefusedWithoutReadingIt) {
  JobDir job;
  job.write_code_file("train.py", kMarkerScript);
  const fs::path path = job.config_dir() / "hyperparameters.json";
  write_file(path, "");
  // Sparse: costs no disk, but reading it would take 4 GiB of memory, far over the RSS bound.
  fs::resize_file(path, 4ull << 30);
  const std::string message =
      path.string() + ": file is 4294967296 bytes; config files are limited to 64 MiB";
  ProcessResult dry = run_bounded(job, {"env"});
  EXPECT_EQ(dry.exit_code, 65);
  EXPECT_EQ(dry.err, "smrun: error: " + message + "\n");
  ProcessResult r = run_bounded(job, {"train"});
  EXPECT_EQ(r.exit_code, 65) << r.err;
  EXPECT_FALSE(fs::exists(job.scratch() / "ran"));
  ASSERT_TRUE(fs::exists(job.failure_file()));
  EXPECT_NE(first_line(read_file(job.failure_file())).find(message), std::string::npos);
}

TEST(Limits, LargeConfigFileUnderTheLimitWorks) {
  JobDir job;
  // 60 MiB of JSON whitespace between two hyperparameters.
  std::string text = "{\"lr\": \"0.1\",";
  text += std::string(60u << 20, ' ');
  text += "\"sagemaker_program\": \"\\\"train.py\\\"\"}";
  job.write_hyperparameters_json(text);
  text.clear();
  text.shrink_to_fit();
  job.write_code_file("train.py", kPythonProbe);
  nlohmann::json probe = train_and_probe(job);
  ASSERT_FALSE(probe.is_null());
  EXPECT_EQ(probe.at("argv"), (nlohmann::json{"train.py", "--lr", "0.1"}));
}

}  // namespace
}  // namespace smrun::test::e2e
