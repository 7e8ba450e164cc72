// env-spec/variables.json is the single list of what smrun exports; README's table is generated
// from it. These tests keep the three (spec, binary, README) in step.

#include <gtest/gtest.h>

#include <set>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

nlohmann::json load_spec() {
  return nlohmann::json::parse(read_file(source_dir() / "env-spec" / "variables.json"));
}

std::set<std::string> spec_names(const std::string& direction) {
  std::set<std::string> names;
  const nlohmann::json spec = load_spec();  // named: a temporary would die before the loop body
  for (const auto& v : spec.at("variables"))
    // Per-rank variables of distributed launchers ("scope": "rank") are checked by the
    // distributed tests; `smrun env` shows the job-level set.
    if (v.at("direction") == direction && v.value("scope", "job") == "job")
      names.insert(v.at("name").get<std::string>());
  return names;
}

std::string pattern_name(const std::string& name) {
  if (name.rfind("SM_HP_", 0) == 0) return "SM_HP_<NAME>";
  if (name.rfind("SM_CHANNEL_", 0) == 0) return "SM_CHANNEL_<NAME>";
  return name;
}

// Every SMRUN_* variable smrun reads is a setting with a value rule (src/settings checks values
// against it), and an integer's documented format is its rule's range.
TEST(EnvSpec, EverySmrunVariableIsASettingWithARule) {
  const std::set<std::string> kinds = {
      "int",  "switch",       "choice",         "string",   "path",
      "argv", "argv_or_path", "host_addresses", "rank_set", "metric_definitions"};
  const nlohmann::json spec = load_spec();
  int settings = 0;
  for (const auto& v : spec.at("variables")) {
    const std::string name = v.at("name");
    if (name.rfind("SMRUN_", 0) != 0) {
      EXPECT_FALSE(v.contains("setting")) << name;
      continue;
    }
    ++settings;
    EXPECT_EQ(v.at("direction"), "reads") << name;
    ASSERT_TRUE(v.contains("setting")) << name;
    const auto& rule = v.at("setting");
    const std::string kind = rule.at("type");
    EXPECT_TRUE(kinds.count(kind)) << name << ": " << kind;
    if (kind == "int") {
      EXPECT_EQ(v.at("format"), "integer " + std::to_string(rule.at("min").get<long long>()) + "-" +
                                    std::to_string(rule.at("max").get<long long>()))
          << name;
    }
    if (kind == "choice") {
      EXPECT_FALSE(rule.at("choices").empty()) << name;
    }
  }
  EXPECT_EQ(settings, 35);
}

TEST(EnvSpec, EveryVariableHasTheRequiredFields) {
  std::set<std::string> seen;
  const nlohmann::json spec = load_spec();
  for (const auto& v : spec.at("variables")) {
    ASSERT_TRUE(v.contains("name")) << v.dump();
    const std::string name = v.at("name");
    EXPECT_TRUE(seen.insert(name + "/" + v.value("direction", "")).second) << "duplicate " << name;
    EXPECT_TRUE(v.contains("direction") &&
                (v.at("direction") == "exports" || v.at("direction") == "reads"))
        << name;
    for (const char* field : {"format", "meaning", "source"})
      EXPECT_TRUE(v.contains(field)) << name << " lacks " << field;
    EXPECT_TRUE(v.at("source") == "reference" || v.at("source") == "smrun") << name;
  }
}

// A job that exercises every conditional export: channels, hyperparameters, a non-empty
// topology and checkpointconfig.json.
TEST(EnvSpec, ExportedNamesEqualTheSpec) {
  JobDir job;
  job.write_sdk_hyperparameters(
      {{"sagemaker_program", "train.py"}, {"lr", 0.1}, {"batch-size", 32}});
  job.write_input_data_config(R"({"train": {}, "eval-set": {}})");
  job.write_resource_config(
      R"({"current_host": "algo-1", "hosts": ["algo-1", "algo-2"],)"
      R"( "topology": [{"name": "ultraserver-1", "hosts": ["algo-1", "algo-2"]}]})");
  const fs::path checkpoints = job.base() / "checkpoints";
  job.write_checkpoint_config(nlohmann::json({{"LocalPath", checkpoints.string()}}).dump());
  job.write_code_file("train.py", "pass\n");
  ProcessResult r = job.run_env({"--show-secrets"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json out = nlohmann::json::parse(r.out);
  std::set<std::string> names;
  for (const auto& [name, _] : out.at("env").items()) names.insert(pattern_name(name));
  EXPECT_EQ(names, spec_names("exports"));
  EXPECT_EQ(out.at("env").at("SM_CHECKPOINT_DIR"), checkpoints.string());
  EXPECT_EQ(out.at("env").at("SM_TOPOLOGY"),
            R"([{"hosts":["algo-1","algo-2"],"name":"ultraserver-1"}])");
  EXPECT_EQ(out.at("env").at("SM_CHANNEL_EVAL-SET"), (job.base() / "input/data/eval-set").string());
  EXPECT_EQ(out.at("env").at("SM_HP_BATCH-SIZE"), "32");
}

TEST(EnvSpec, ConditionalExportsAreAbsentWithoutTheirInputs) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_resource_config(R"({"current_host": "algo-1", "hosts": ["algo-1"], "topology": []})");
  ProcessResult r = job.run_env();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json env = nlohmann::json::parse(r.out).at("env");
  EXPECT_FALSE(env.contains("SM_TOPOLOGY"));
  EXPECT_FALSE(env.contains("SM_CHECKPOINT_DIR"));
  for (const auto& [name, _] : env.items()) {
    EXPECT_NE(name.rfind("SM_HP_", 0), 0u) << name;
    EXPECT_NE(name.rfind("SM_CHANNEL_", 0), 0u) << name;
  }
}

TEST(EnvSpec, ReadmeTableIsInSync) {
  ProcessOptions options;
  options.argv = {"/usr/bin/python3", (source_dir() / "tools" / "gen_env_table.py").string(),
                  "--check"};
  options.env = Env{{"PATH", "/usr/bin:/bin"}};
  options.cwd = source_dir();
  ProcessResult r = run_process(options);
  EXPECT_EQ(r.exit_code, 0) << "tools/gen_env_table.py --check failed:\n" << r.out << r.err;
}

}  // namespace
}  // namespace smrun::test::e2e
