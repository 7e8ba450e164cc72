// The reference toolkit's acceptance vectors (tests/data/vectors/toolkit-vectors.json) replayed
// end to end: each vector's inputs become config files / environment of a temp /opt/ml tree,
// `smrun env --show-secrets` prints what train would run, and every expected value must match.

#include <gtest/gtest.h>

#include <set>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

const std::vector<std::string> kVectorNames = {
    "environment/round_trip_test_subset",
    "environment/reserved_hyperparameter_split",
    "environment/channel_and_hp_env_naming",
    "environment/heterogeneous_cluster",
    "environment/program_resolution/env=None,hp=train.py",
    "environment/program_resolution/env=None,hp=None",
    "environment/process_env_side_effects",
    "hyperparameters_json_to_argv/kitchen_sink",
    "hyperparameters_json_to_env/kitchen_sink",
};

// Expected keys checked against SM_TRAINING_ENV (the reference's Environment properties).
const std::map<std::string, std::string> kTrainingEnvKeys = {
    {"module_name", "module_name"},
    {"user_entry_point", "user_entry_point"},
    {"module_dir", "module_dir"},
    {"log_level", "log_level"},
    {"network_interface_name", "network_interface_name"},
    {"job_name", "job_name"},
    {"current_instance_group", "current_instance_group"},
    {"current_instance_type", "current_instance_type"},
    {"instance_groups", "instance_groups"},
    {"master_hostname", "master_hostname"},
    {"is_master", "is_master"},
    {"distribution_hosts", "distribution_hosts"},
    {"hyperparameters(user, -> argv/SM_HPS)", "hyperparameters"},
    {"additional_framework_parameters(SM_FRAMEWORK_PARAMS)", "additional_framework_parameters"},
};

// Python-only renderings with no observable counterpart in a process (covered through argv).
const std::set<std::string> kNotObservable = {"decoded_python_repr"};

const nlohmann::ordered_json& all_vectors() {
  static const nlohmann::ordered_json vectors = nlohmann::ordered_json::parse(
      read_file(test_data_dir() / "vectors" / "toolkit-vectors.json"));
  return vectors;
}

const nlohmann::ordered_json* find_vector(const std::string& name) {
  for (const auto& v : all_vectors())
    if (v.at("name") == name) return &v;
  return nullptr;
}

// The vectors were produced with base /opt/ml; the test tree lives elsewhere.
nlohmann::json rebase(const nlohmann::json& value, const std::string& base) {
  if (value.is_string()) {
    const std::string s = value.get<std::string>();
    const std::string from = "/opt/ml";
    std::string out;
    std::size_t pos = 0;
    for (;;) {
      const std::size_t at = s.find(from, pos);
      if (at == std::string::npos) {
        out += s.substr(pos);
        break;
      }
      out += s.substr(pos, at - pos);
      const std::size_t end = at + from.size();
      const bool whole = end == s.size() || s[end] == '/' || s[end] == '"';
      out += whole ? base : from;
      pos = end;
    }
    return out;
  }
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : value) out.push_back(rebase(v, base));
    return out;
  }
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : value.items()) out[k] = rebase(v, base);
    return out;
  }
  return value;
}

std::string test_name(const std::string& vector_name) {
  std::string out;
  for (char c : vector_name) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

class VectorTest : public ::testing::TestWithParam<std::string> {};

TEST_P(VectorTest, SmrunEnvMatchesTheReference) {
  const nlohmann::ordered_json* vector = find_vector(GetParam());
  ASSERT_NE(vector, nullptr) << "vector " << GetParam() << " is not in toolkit-vectors.json";
  const nlohmann::ordered_json& input = vector->at("input");
  JobDir job;
  Env extra;
  for (const auto& [key, value] : input.items()) {
    if (key == "hyperparameters_decoded") {
      job.write_sdk_hyperparameters(value);
    } else if (key == "hyperparameters.json") {
      job.write_hyperparameters_json(sdk_json_dumps(value));
    } else if (key == "resourceconfig.json") {
      job.write_resource_config(sdk_json_dumps(value));
    } else if (key == "inputdataconfig.json") {
      job.write_input_data_config(sdk_json_dumps(value));
    } else if (key == "env") {
      for (const auto& [name, v] : value.items()) extra[name] = v.get<std::string>();
    } else if (key == "num_cpus") {
      extra["SMRUN_NUM_CPUS"] = std::to_string(value.get<int>());
    } else if (key == "num_gpus") {
      extra["SMRUN_NUM_GPUS"] = std::to_string(value.get<int>());
    } else if (key == "num_neurons") {
      extra["SMRUN_NUM_NEURONS"] = std::to_string(value.get<int>());
    } else {
      FAIL() << "unhandled input key '" << key << "'";
    }
  }

  ProcessResult r = job.run_env({"--show-secrets"}, extra);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json out = nlohmann::json::parse(r.out);
  const nlohmann::json& env = out.at("env");
  // SM_TRAINING_ENV may hold NaN/Infinity (Python's json), which nlohmann cannot parse; only
  // vectors that check Environment properties need it.
  nlohmann::json training;
  auto training_env = [&]() -> const nlohmann::json& {
    if (training.is_null())
      training = nlohmann::json::parse(env.at("SM_TRAINING_ENV").get<std::string>());
    return training;
  };
  const std::string base = job.base().string();

  auto check_env = [&](const std::string& name, const nlohmann::json& expected) {
    if (!env.contains(name)) {
      ADD_FAILURE() << name << " is not exported (expected " << expected.dump() << ")";
      return;
    }
    EXPECT_EQ(env.at(name), rebase(expected, base)) << name;
  };

  std::size_t checked = 0;
  for (const auto& [key, expected_value] : vector->at("expected").items()) {
    const nlohmann::json expected = nlohmann::json::parse(expected_value.dump());
    if (key == "env_subset" || key == "env" || key == "os.environ") {
      for (const auto& [name, v] : expected.items()) {
        check_env(name, v);
        ++checked;
      }
    } else if (key.rfind("SM_", 0) == 0) {
      check_env(key, expected);
      ++checked;
    } else if (key == "argv") {
      EXPECT_EQ(out.at("user_args"), expected) << "argv";
      // The command smrun would exec ends with exactly those arguments.
      const nlohmann::json& command = out.at("command");
      if (command.is_array() && command.size() >= expected.size() && !command.empty()) {
        const std::vector<nlohmann::json> tail(command.end() - static_cast<long>(expected.size()),
                                               command.end());
        EXPECT_EQ(nlohmann::json(tail), expected) << "command tail";
      }
      ++checked;
    } else if (auto it = kTrainingEnvKeys.find(key); it != kTrainingEnvKeys.end()) {
      EXPECT_EQ(training_env().at(it->second), rebase(expected, base))
          << "SM_TRAINING_ENV." << it->second;
      ++checked;
    } else if (key == "trainer_runner_type") {
      EXPECT_EQ(expected, "Process");
      EXPECT_EQ(out.value("launcher", ""), "process");
      ++checked;
    } else if (kNotObservable.count(key) == 0) {
      ADD_FAILURE() << "unhandled expected key '" << key << "'";
    }
  }
  EXPECT_GT(checked, 0u);
}

INSTANTIATE_TEST_SUITE_P(ToolkitVectors, VectorTest, ::testing::ValuesIn(kVectorNames),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return test_name(info.param);
                         });

}  // namespace
}  // namespace smrun::test::e2e
