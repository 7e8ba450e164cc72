#include "smrun/hyperparams/hyperparameters.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "smrun/config/py_json.hpp"

namespace smrun::hyperparams {
namespace {

using config::PyDict;
using config::PyValue;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

PyDict dict_of(std::string_view json) {
  auto v = config::parse_py_json(json);
  EXPECT_TRUE(v && v->is_dict()) << json;
  return v && v->is_dict() ? v->as_dict() : PyDict{};
}

std::vector<std::string> keys_of(const PyDict& d) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : d) keys.push_back(k);
  return keys;
}

TEST(DecodeHyperparameters, JsonLoadsEachStringValue) {
  const PyDict decoded = decode_hyperparameters(dict_of(R"({
    "lr": "0.001", "epochs": "10", "flag": "true", "nothing": "null", "quoted": "\"adam\"",
    "plain": "adam", "leading_zero": "01", "ws": " 5 ", "sci": "1e3", "nan": "NaN",
    "native": 5, "native_list": [1, "2"], "empty": "", "big": "123456789012345678901234567890",
    "bom": "\ufeff1", "obj": "{\"b\": 2, \"a\": [1]}"})"));
  ASSERT_EQ(decoded.size(), 16u);
  EXPECT_THAT(keys_of(decoded), ElementsAre("lr", "epochs", "flag", "nothing", "quoted", "plain",
                                            "leading_zero", "ws", "sci", "nan", "native",
                                            "native_list", "empty", "big", "bom", "obj"));
  EXPECT_EQ(decoded[0].second, PyValue::real(0.001));
  EXPECT_EQ(decoded[1].second, PyValue::integer(10));
  EXPECT_EQ(decoded[2].second, PyValue::boolean(true));
  EXPECT_EQ(decoded[3].second, PyValue::none());
  EXPECT_EQ(decoded[4].second, PyValue::str("adam"));
  EXPECT_EQ(decoded[5].second, PyValue::str("adam"));  // not JSON: kept
  EXPECT_EQ(decoded[6].second, PyValue::str("01"));    // "Extra data": kept
  EXPECT_EQ(decoded[7].second, PyValue::integer(5));
  EXPECT_EQ(decoded[8].second, PyValue::real(1000.0));
  EXPECT_TRUE(decoded[9].second.is_float());
  EXPECT_EQ(decoded[10].second, PyValue::integer(5));  // TypeError in the reference: kept
  EXPECT_EQ(decoded[11].second, PyValue::list({PyValue::integer(1), PyValue::str("2")}));
  EXPECT_EQ(decoded[12].second, PyValue::str(""));
  EXPECT_EQ(decoded[13].second, PyValue::integer_text("123456789012345678901234567890"));
  EXPECT_EQ(decoded[14].second, PyValue::str("\xef\xbb\xbf"
                                             "1"));  // BOM refused: kept
  EXPECT_EQ(config::dump_py_json(decoded[15].second), R"({"a":[1],"b":2})");
}

TEST(ReservedNames, ExactTuple) {
  EXPECT_THAT(
      reserved_hyperparameter_names(),
      ElementsAre("sagemaker_program", "sagemaker_submit_directory",
                  "sagemaker_enable_cloudwatch_metrics", "sagemaker_region",
                  "sagemaker_container_log_level", "sagemaker_job_name", "default_user_module_name",
                  "_tuning_objective_metric", "sagemaker_s3_output"));
}

TEST(SplitHyperparameters, FourWaySplitKeepsOrder) {
  const SplitHyperparameters split = split_hyperparameters(dict_of(R"({
    "batch_size": 32, "sagemaker_program": "main.py", "smrun_log_format": "json",
    "sagemaker_mpi_enabled": true, "_tuning_objective_metric": "loss", "lr": 0.1,
    "default_user_module_name": "net", "sagemaker": 1, "SAGEMAKER_X": 2, "smrun": 3,
    "sagemaker_parameter_server_num": 2, "smrun_x": null})"));
  EXPECT_THAT(keys_of(split.user),
              ElementsAre("batch_size", "lr", "sagemaker", "SAGEMAKER_X", "smrun"));
  EXPECT_THAT(keys_of(split.sagemaker),
              ElementsAre("sagemaker_program", "sagemaker_mpi_enabled", "_tuning_objective_metric",
                          "default_user_module_name", "sagemaker_parameter_server_num"));
  EXPECT_THAT(keys_of(split.framework),
              ElementsAre("sagemaker_mpi_enabled", "sagemaker_parameter_server_num"));
  EXPECT_THAT(keys_of(split.smrun), ElementsAre("smrun_log_format", "smrun_x"));
  EXPECT_EQ(split.framework[0].second, PyValue::boolean(true));
}

TEST(SplitByCriteria, KeysOrPrefix) {
  const PyDict d = dict_of(R"({"sagemaker_x": 1, "y": 2, "x": 3})");
  SplitByCriteria s = split_by_criteria(d, {}, "sagemaker");
  EXPECT_THAT(keys_of(s.included), ElementsAre("sagemaker_x"));
  EXPECT_THAT(keys_of(s.excluded), ElementsAre("y", "x"));
  s = split_by_criteria(d, {"x"}, "");
  EXPECT_THAT(keys_of(s.included), ElementsAre("x"));
  s = split_by_criteria(d, {}, "");
  EXPECT_THAT(s.included, IsEmpty());  // an empty prefix matches nothing (falsy in Python)
}

TEST(ToCmdArgs, ReferenceExamples) {
  EXPECT_THAT(to_cmd_args(dict_of(R"({"da-sh":"1","un_der":"2","un-sh":"3","da_der":"2"})")),
              ElementsAre("--da-sh", "1", "--da_der", "2", "--un-sh", "3", "--un_der", "2"));
  EXPECT_THAT(to_cmd_args({}), IsEmpty());
  EXPECT_THAT(to_cmd_args(dict_of(R"({"":""})")), ElementsAre("", ""));
  EXPECT_THAT(to_cmd_args(dict_of(R"({"U":"1","b":"2","T":"","":"42"})")),
              ElementsAre("", "42", "-T", "", "-U", "1", "-b", "2"));
  EXPECT_THAT(to_cmd_args(dict_of(R"({"nested":["1",["2","3",[["6"]]]]})")),
              ElementsAre("--nested", "['1', ['2', '3', [['6']]]]"));
  EXPECT_THAT(
      to_cmd_args(dict_of(R"({"map":{"a":[1,3,4]},"channel_dirs":{"train":"foo","eval":"bar"}})")),
      ElementsAre("--channel_dirs", "eval=bar,train=foo", "--map", "a=[1, 3, 4]"));
  EXPECT_THAT(to_cmd_args(dict_of(R"({"truthy":true,"falsy":false})")),
              ElementsAre("--falsy", "False", "--truthy", "True"));
  EXPECT_THAT(to_cmd_args(dict_of(R"({"d":{"x": null, "y": "s", "z": [1, "a"], "w": {"n": 1}}})")),
              ElementsAre("-d", "w={'n': 1},x=None,y=s,z=[1, 'a']"));
}

TEST(ToCmdArgs, ValuesRenderedWithPythonStr) {
  EXPECT_THAT(
      to_cmd_args(dict_of(R"({"n": null, "f": 1e-5, "h": 1e16, "k": 1000.0,
                                      "i": 12345678901234567890123, "s": "it's \"x\"",
                                      "inf": Infinity, "nan": NaN, "e": {}})")),
      ElementsAre("-e", "", "-f", "1e-05", "-h", "1e+16", "-i", "12345678901234567890123", "--inf",
                  "inf", "-k", "1000.0", "-n", "", "--nan", "nan", "-s", "it's \"x\""));
}

TEST(ToCmdArgs, SortByCodePointAndCountCharacters) {
  // "é" is one character (single dash) though two bytes; "中" sorts after ASCII and "é".
  EXPECT_THAT(to_cmd_args(dict_of(R"({"\u4e2d": 1, "\u00e9": 2, "z": 3, "Z": 4, "_a": 5, "9": 6,
                                      "\ud83d\ude00x": 7})")),
              ElementsAre("-9", "6", "-Z", "4", "--_a", "5", "-z", "3", "-\xc3\xa9", "2",
                          "-\xe4\xb8\xad", "1", "--\xf0\x9f\x98\x80x", "7"));
}

TEST(FormatEnv, ValuesAndKeys) {
  EXPECT_EQ(format_env_value(PyValue::none()), "");
  EXPECT_EQ(format_env_value(PyValue::str("\xc2\xa1\xc3\xb8 raw \"q\"")),
            "\xc2\xa1\xc3\xb8 raw \"q\"");
  EXPECT_EQ(format_env_value(PyValue::boolean(true)), "true");
  EXPECT_EQ(format_env_value(PyValue::real(4.0)), "4.0");
  EXPECT_EQ(format_env_value(PyValue::real(std::nan(""))), "NaN");
  EXPECT_EQ(format_env_value(config::parse_py_json(R"({"b": "\u00e9", "a": [1, null]})").value()),
            R"({"a":[1,null],"b":"\u00e9"})");
  EXPECT_EQ(format_env_key("hp_batch-size"), "SM_HP_BATCH-SIZE");
  EXPECT_EQ(format_env_key("hp_learningRate"), "SM_HP_LEARNINGRATE");
  EXPECT_EQ(format_env_key("hp_stra\xc3\x9f"
                           "e"),
            "SM_HP_STRASSE");
  EXPECT_EQ(format_env_key("hp_\xef\xac\x81"), "SM_HP_FI");
  EXPECT_EQ(format_env_key("channel_train.data"), "SM_CHANNEL_TRAIN.DATA");
  EXPECT_EQ(format_env_key(""), "");
}

}  // namespace
}  // namespace smrun::hyperparams
