// SMRUN_METRIC_DEFINITIONS: the estimator's metric_definitions JSON, checked before the job runs.

#include <gtest/gtest.h>

#include "smrun/metrics/definitions.hpp"

namespace smrun::metrics {
namespace {

std::string error_of(std::string_view json) {
  auto parsed = parse_definitions(json);
  EXPECT_FALSE(parsed) << json;
  return parsed ? "" : parsed.error().message;
}

TEST(MetricDefinitions, ParsesTheEstimatorsList) {
  auto parsed = parse_definitions(
      R"J([{"Name": "train:loss", "Regex": "loss=([0-9.]+)"},
          {"Name": "validation:acc", "Regex": "acc: (\\S+)", "Extra": 1}])J");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, (std::vector<MetricDefinition>{{"train:loss", "loss=([0-9.]+)"},
                                                    {"validation:acc", "acc: (\\S+)"}}));
  auto empty = parse_definitions("[]");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(MetricDefinitions, InvalidJsonSaysSo) {
  EXPECT_EQ(error_of(R"J([{"Name": "a", "Regex": "a(1)"})J").substr(0, 14), "invalid JSON: ");
  EXPECT_EQ(error_of(R"J({"Name": "a", "Regex": "a(1)"})J"),
            R"J(a JSON list of {"Name": ..., "Regex": ...} objects)J");
  EXPECT_EQ(error_of(R"J(["loss=(.*)"])J"),
            R"J(definition 1: an object {"Name": ..., "Regex": ...})J");
}

TEST(MetricDefinitions, MissingNameOrRegexNamesTheDefinition) {
  EXPECT_EQ(error_of(R"J([{"Name": "a", "Regex": "a=(1)"}, {"Regex": "b=(1)"}])J"),
            R"J(definition 2: a non-empty string "Name")J");
  EXPECT_EQ(error_of(R"J([{"Name": "", "Regex": "b=(1)"}])J"),
            R"J(definition 1: a non-empty string "Name")J");
  EXPECT_EQ(error_of(R"J([{"Name": "train:loss"}])J"),
            R"J(definition 1 ("train:loss"): a non-empty string "Regex")J");
  EXPECT_EQ(error_of(R"J([{"Name": "train:loss", "Regex": 5}])J"),
            R"J(definition 1 ("train:loss"): a non-empty string "Regex")J");
}

TEST(MetricDefinitions, BadRegexNamesTheDefinition) {
  const std::string message = error_of(R"J([{"Name": "train:loss", "Regex": "loss=([0-9.]+"}])J");
  EXPECT_EQ(
      message.rfind(
          R"J(definition 1 ("train:loss"): a valid ECMAScript "Regex" ("loss=([0-9.]+": )J", 0),
      0u)
      << message;
}

TEST(MetricDefinitions, RegexWithoutCaptureGroupIsRejected) {
  EXPECT_EQ(error_of(R"J([{"Name": "loss", "Regex": "loss=[0-9.]+"}])J"),
            R"J(definition 1 ("loss"): a "Regex" with a capture group around the value, e.g. )J"
            R"J("loss=([0-9.eE+-]+)" ("loss=[0-9.]+" has none))J");
}

TEST(MetricDefinitions, DuplicateNamesAreRejected) {
  EXPECT_EQ(error_of(R"J([{"Name": "a", "Regex": "a=(1)"}, {"Name": "a", "Regex": "b=(1)"}])J"),
            R"J(definition 2 ("a"): each "Name" once)J");
}

}  // namespace
}  // namespace smrun::metrics
