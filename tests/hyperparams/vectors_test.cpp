// The reference toolkit's acceptance vectors (tests/data/vectors/toolkit-vectors.json) that concern
// hyperparameter decoding, argv and SM_* env formatting, one test case per vector.
//
// Vectors write a Python bytes value as {"$bytes": "..."}. smrun never sees bytes (everything it
// reads is JSON text), so such a value is rendered as its latin-1 text, which is what the
// reference's _decode/format_value do with bytes.

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <ostream>
#include <set>

#include "smrun/config/py_json.hpp"
#include "smrun/hyperparams/hyperparameters.hpp"
#include "smrun/hyperparams/py_format.hpp"
#include "support/test_support.hpp"

namespace smrun::hyperparams {
namespace {

using config::PyDict;
using config::PyValue;

struct Vector {
  std::string name;
  PyValue body;
};

void PrintTo(const Vector& v, std::ostream* os) {
  *os << v.name;
}

const std::vector<Vector>& all_vectors() {
  static const std::vector<Vector> vectors = [] {
    std::vector<Vector> out;
    const auto path = test::test_data_dir() / "vectors/toolkit-vectors.json";
    auto parsed = config::parse_py_json(test::read_file(path));
    if (!parsed || !parsed->is_list()) {
      ADD_FAILURE() << "cannot parse " << path
                    << (parsed ? "" : ": " + config::format_json_error(parsed.error()));
      return out;
    }
    for (const PyValue& v : parsed->as_list()) out.push_back({v.find("name")->as_str(), v});
    return out;
  }();
  return vectors;
}

// {"$bytes": "..."} -> its latin-1 text; recursively.
PyValue unbytes(const PyValue& v) {
  if (v.is_dict()) {
    if (v.as_dict().size() == 1 && v.as_dict()[0].first == "$bytes") return v.as_dict()[0].second;
    PyDict d;
    for (const auto& [k, item] : v.as_dict()) d.emplace_back(k, unbytes(item));
    return PyValue::dict(std::move(d));
  }
  if (v.is_list()) {
    config::PyList l;
    for (const PyValue& item : v.as_list()) l.push_back(unbytes(item));
    return PyValue::list(std::move(l));
  }
  return v;
}

const PyValue& at(const PyValue& v, std::string_view key) {
  const PyValue* found = v.find(key);
  if (found == nullptr) {
    ADD_FAILURE() << "vector lacks key " << key;
    static const PyValue kNone;
    return kNone;
  }
  return *found;
}

std::vector<std::string> strings(const PyValue& list) {
  std::vector<std::string> out;
  for (const PyValue& v : list.as_list()) out.push_back(v.as_str());
  return out;
}

// What Environment.to_env_vars derives from the user hyperparameters.
std::map<std::string, std::string> hp_env(const PyDict& user) {
  std::map<std::string, std::string> env;
  env["SM_HPS"] = format_env_value(PyValue::dict(user));
  for (const auto& [k, v] : user) env[format_env_key("hp_" + k)] = format_env_value(v);
  return env;
}

bool is_hp_env_name(const std::string& name) {
  return name == "SM_HPS" || name.rfind("SM_HP_", 0) == 0 || name == "SM_FRAMEWORK_PARAMS";
}

// Checks every argv / SM_HPS / SM_HP_* / SM_FRAMEWORK_PARAMS expectation found in `expected`
// against `decoded`; returns how many were checked.
int check_hp_expectations(const PyDict& decoded, const PyValue& expected) {
  const SplitHyperparameters split = split_hyperparameters(decoded);
  std::map<std::string, std::string> env = hp_env(split.user);
  env["SM_FRAMEWORK_PARAMS"] = format_env_value(PyValue::dict(split.framework));
  int checks = 0;
  if (const PyValue* argv = expected.find("argv")) {
    EXPECT_EQ(to_cmd_args(split.user), strings(*argv)) << "argv";
    ++checks;
  }
  const auto check_env = [&](const PyValue& block) {
    for (const auto& [name, value] : block.as_dict()) {
      if (!is_hp_env_name(name)) continue;
      ASSERT_TRUE(env.count(name)) << "smrun does not produce " << name;
      EXPECT_EQ(env[name], value.as_str()) << name;
      ++checks;
    }
  };
  if (const PyValue* subset = expected.find("env_subset")) check_env(*subset);
  check_env(expected);  // some vectors list SM_* at the top level
  if (const PyValue* user = expected.find("hyperparameters(user, -> argv/SM_HPS)")) {
    EXPECT_EQ(PyValue::dict(split.user), *user);
    ++checks;
  }
  if (const PyValue* fw = expected.find("additional_framework_parameters(SM_FRAMEWORK_PARAMS)")) {
    EXPECT_EQ(PyValue::dict(split.framework), *fw);
    ++checks;
  }
  return checks;
}

void run_vector(const Vector& v) {
  const PyValue& input = at(v.body, "input");
  const PyValue& expected = at(v.body, "expected");
  const std::string& name = v.name;
  if (name.rfind("to_cmd_args/", 0) == 0) {
    const PyValue hps = unbytes(at(input, "hyperparameters_decoded"));
    EXPECT_EQ(to_cmd_args(hps.as_dict()), strings(at(expected, "argv")));
  } else if (name.rfind("to_env_vars/", 0) == 0) {
    std::map<std::string, std::string> got, want;
    const PyValue mapping = unbytes(at(input, "mapping"));
    for (const auto& [k, val] : mapping.as_dict()) {
      got[format_env_key(k)] = format_env_value(val);
    }
    for (const auto& [k, val] : at(expected, "env").as_dict()) want[k] = val.as_str();
    EXPECT_EQ(got, want);
  } else if (name.rfind("split_by_criteria/", 0) == 0) {
    std::vector<std::string> keys;
    const PyValue& k = at(input, "keys");
    if (k.is_str()) {  // set("x") in Python: the string's characters
      for (char c : k.as_str()) keys.emplace_back(1, c);
    } else if (k.is_list()) {
      keys = strings(k);
    }
    const PyValue& prefix = at(input, "prefix");
    const SplitByCriteria s = split_by_criteria(at(input, "dictionary").as_dict(), keys,
                                                prefix.is_str() ? prefix.as_str() : "");
    EXPECT_EQ(PyValue::dict(s.included), at(expected, "included"));
    EXPECT_EQ(PyValue::dict(s.excluded), at(expected, "excluded"));
  } else if (name.rfind("hyperparameters_json_to_argv/", 0) == 0) {
    const PyValue decoded_dict =
        PyValue::dict(decode_hyperparameters(at(input, "hyperparameters.json").as_dict()));
    const PyDict& decoded = decoded_dict.as_dict();
    for (const auto& [key, repr] : at(expected, "decoded_python_repr").as_dict()) {
      const PyValue* value = decoded_dict.find(key);
      ASSERT_NE(value, nullptr) << key;
      EXPECT_EQ(py_repr(*value), repr.as_str()) << "repr of decoded " << key;
    }
    EXPECT_EQ(check_hp_expectations(decoded, expected), 1);
  } else if (name.rfind("hyperparameters_json_to_env/", 0) == 0) {
    const PyDict decoded = decode_hyperparameters(at(input, "hyperparameters.json").as_dict());
    std::map<std::string, std::string> got = hp_env(split_hyperparameters(decoded).user), want;
    for (const auto& [k, val] : at(expected, "env").as_dict()) want[k] = val.as_str();
    EXPECT_EQ(got, want);
  } else if (name.rfind("environment/", 0) == 0) {
    const PyDict decoded = at(input, "hyperparameters_decoded").as_dict();
    EXPECT_GT(check_hp_expectations(decoded, expected), 0) << "vector checked nothing";
  } else {
    FAIL() << "vector not handled: " << name;
  }
}

// Vectors that concern decoding, argv and SM_HP* formatting.
bool in_scope(const Vector& v) {
  for (const char* prefix : {"to_cmd_args/", "to_env_vars/", "split_by_criteria/",
                             "hyperparameters_json_to_argv/", "hyperparameters_json_to_env/"}) {
    if (v.name.rfind(prefix, 0) == 0) return true;
  }
  if (v.name.rfind("environment/", 0) != 0) return false;
  const PyValue* input = v.body.find("input");
  const PyValue* expected = v.body.find("expected");
  if (!input || !input->find("hyperparameters_decoded") || !expected) return false;
  // Only environment vectors stating argv / SM_HPS / SM_HP_* / the hp split.
  if (expected->find("argv") || expected->find("hyperparameters(user, -> argv/SM_HPS)")) {
    return true;
  }
  for (const PyValue* block : {expected, expected->find("env_subset")}) {
    if (!block) continue;
    for (const auto& [k, val] : block->as_dict()) {
      if (is_hp_env_name(k)) return true;
    }
  }
  return false;
}

std::vector<Vector> scoped_vectors() {
  std::vector<Vector> out;
  for (const Vector& v : all_vectors()) {
    if (in_scope(v)) out.push_back(v);
  }
  return out;
}

class ToolkitVector : public ::testing::TestWithParam<Vector> {};

TEST_P(ToolkitVector, Matches) {
  SCOPED_TRACE("vector " + GetParam().name);
  run_vector(GetParam());
}

std::string test_name(const ::testing::TestParamInfo<Vector>& info) {
  std::string out;
  for (char c : info.param.name)
    out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return out + "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(Reference, ToolkitVector, ::testing::ValuesIn(scoped_vectors()),
                         test_name);

// Guards the scope filter: if the vector file grows or names change, this notices.
TEST(ToolkitVectorScope, ExpectedVectorsAreCovered) {
  std::set<std::string> names;
  for (const Vector& v : scoped_vectors()) names.insert(v.name);
  for (const char* must :
       {"to_cmd_args/empty", "to_cmd_args/unicode_bytes_float_int",
        "to_cmd_args/booleans_python_case", "to_env_vars/empty", "to_env_vars/scalars",
        "split_by_criteria/prefix", "split_by_criteria/keys",
        "hyperparameters_json_to_argv/kitchen_sink", "hyperparameters_json_to_env/kitchen_sink",
        "environment/round_trip_test_subset", "environment/reserved_hyperparameter_split",
        "environment/channel_and_hp_env_naming", "environment/heterogeneous_cluster"}) {
    EXPECT_TRUE(names.count(must)) << must;
  }
  for (const Vector& v : all_vectors()) {
    for (const char* prefix :
         {"to_cmd_args/", "to_env_vars/", "split_by_criteria/", "hyperparameters_json_to"}) {
      if (v.name.rfind(prefix, 0) == 0) {
        EXPECT_TRUE(names.count(v.name)) << v.name;
      }
    }
  }
}

}  // namespace
}  // namespace smrun::hyperparams
