#include "smrun/config/job_config.hpp"

#include <gtest/gtest.h>

#include "smrun/config/py_json.hpp"
#include "support/test_support.hpp"

namespace smrun::config {
namespace {

using test::TempDir;
using test::write_file;

class JobConfigTest : public ::testing::Test {
 protected:
  TempDir dir;
  MlPaths paths = ml_paths(dir.path());

  void write_config(const std::string& name, const std::string& text) {
    write_file(paths.input_config / name, text);
  }
  std::string load_error() {
    auto job = load_job_config(paths, "myhost");
    EXPECT_FALSE(job.has_value());
    return job ? "" : job.error().message;
  }
};

TEST_F(JobConfigTest, ReadsAllFilesPreservingHyperparameterOrder) {
  write_config("hyperparameters.json",
               R"({"b": "1", "a": "\"x\"", "sagemaker_program": "\"t.py\""})");
  write_config(
      "resourceconfig.json",
      R"({"current_host": "algo-2", "hosts": ["algo-1", "algo-2"], "network_interface_name": "ethwe",
                   "current_instance_type": "ml.p4d.24xlarge", "current_group_name": "g1",
                   "instance_groups": [{"instance_group_name": "g1", "instance_type": "ml.p4d.24xlarge", "hosts": ["algo-2", "algo-1"]}]})");
  write_config("inputdataconfig.json", R"({"train": {"TrainingInputMode": "File"}})");
  write_config("checkpointconfig.json", R"({"LocalPath": "/ckpt", "S3Uri": "s3://b/k"})");
  auto job = load_job_config(paths, "myhost");
  ASSERT_TRUE(job.has_value()) << job.error().message;
  ASSERT_EQ(job->hyperparameters.size(), 3u);
  EXPECT_EQ(job->hyperparameters[0].first, "b");
  EXPECT_EQ(job->hyperparameters[1].first, "a");
  EXPECT_EQ(job->hyperparameters[1].second, PyValue::str("\"x\""));
  EXPECT_EQ(job->resource.current_host, "algo-2");
  EXPECT_EQ(job->resource.hosts, (std::vector<std::string>{"algo-1", "algo-2"}));
  EXPECT_EQ(job->resource.network_interface_name, "ethwe");
  EXPECT_EQ(job->resource.current_instance_type, "ml.p4d.24xlarge");
  EXPECT_EQ(job->resource.current_group_name, "g1");
  ASSERT_EQ(job->resource.instance_groups.size(), 1u);
  EXPECT_EQ(job->resource.instance_groups[0].hosts, (std::vector<std::string>{"algo-2", "algo-1"}));
  ASSERT_TRUE(job->checkpoint.has_value());
  EXPECT_EQ(job->checkpoint->local_path, "/ckpt");
  EXPECT_EQ(job->checkpoint->s3_uri, "s3://b/k");
  EXPECT_FALSE(job->resource_config_missing);
}

TEST_F(JobConfigTest, DefaultsMatchTheReference) {
  write_config("resourceconfig.json", R"({"current_host": "algo-1", "hosts": ["algo-1"]})");
  auto job = load_job_config(paths, "myhost");
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(job->resource.current_instance_type, "local");
  EXPECT_EQ(job->resource.current_group_name, "homogeneousCluster");
  EXPECT_EQ(job->resource.network_interface_name, "eth0");
  EXPECT_TRUE(job->hyperparameters.empty());
  EXPECT_EQ(job->input_data_config, PyValue::dict());
  EXPECT_FALSE(job->checkpoint.has_value());
}

TEST_F(JobConfigTest, LocalModeCurrentInstanceGroupKeyIsIgnoredLikeTheReference) {
  write_config(
      "resourceconfig.json",
      R"({"current_host": "algo-1", "hosts": ["algo-1"], "current_instance_group": "other"})");
  auto job = load_job_config(paths, "myhost");
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->resource.current_group_name, "homogeneousCluster");
}

TEST_F(JobConfigTest, MissingResourceConfigIsSynthesisedForOneLocalHost) {
  auto job = load_job_config(paths, "myhost");
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_TRUE(job->resource_config_missing);
  EXPECT_EQ(job->resource.current_host, "myhost");
  EXPECT_EQ(job->resource.hosts, std::vector<std::string>{"myhost"});
  EXPECT_EQ(
      dump_py_json(job->resource.raw),
      R"({"current_host":"myhost","current_instance_group":"homogeneousCluster","hosts":["myhost"],)"
      R"("instance_groups":[{"hosts":["myhost"],"instance_group_name":"homogeneousCluster","instance_type":"local"}]})");
}

TEST_F(JobConfigTest, CheckpointLocalPathDefaults) {
  write_config("resourceconfig.json", R"({"current_host": "a", "hosts": ["a"]})");
  write_config("checkpointconfig.json", R"({"S3Uri": "s3://b/k"})");
  auto job = load_job_config(paths, "h");
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->checkpoint->local_path, "/opt/ml/checkpoints");
}

struct BadConfigCase {
  const char* file;
  const char* text;
  const char* expected;  // substring after "<path>: "
};

class BadConfigTest : public JobConfigTest, public ::testing::WithParamInterface<BadConfigCase> {};

TEST_P(BadConfigTest, NamesFilePathAndExpectation) {
  const BadConfigCase& c = GetParam();
  if (std::string(c.file) != "resourceconfig.json")
    write_config("resourceconfig.json", R"({"current_host": "a", "hosts": ["a"]})");
  write_config(c.file, c.text);
  std::string message = load_error();
  EXPECT_EQ(message, (paths.input_config / c.file).string() + ": " + c.expected);
  EXPECT_EQ(message.find('\n'), std::string::npos) << "errors are one line";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadConfigTest,
    ::testing::Values(
        BadConfigCase{"hyperparameters.json",
                      "{\"a\": ", "invalid JSON: Expecting value at line 1 column 7"},
        BadConfigCase{"hyperparameters.json", "[1]", "$: expected a JSON object, got list"},
        BadConfigCase{"resourceconfig.json", R"({"hosts": ["a"]})",
                      "$.current_host: required field missing"},
        BadConfigCase{"resourceconfig.json", R"({"current_host": 3, "hosts": ["a"]})",
                      "$.current_host: expected a string, got int"},
        BadConfigCase{"resourceconfig.json", R"({"current_host": "a"})",
                      "$.hosts: required field missing"},
        BadConfigCase{"resourceconfig.json", R"({"current_host": "a", "hosts": "a"})",
                      "$.hosts: expected a list of strings, got string"},
        BadConfigCase{"resourceconfig.json", R"({"current_host": "a", "hosts": ["a", 2]})",
                      "$.hosts[1]: expected a string, got int"},
        BadConfigCase{"resourceconfig.json", R"({"current_host": "a", "hosts": []})",
                      "$.hosts: expected at least one host, got []"},
        BadConfigCase{"resourceconfig.json",
                      R"({"current_host": "a", "hosts": ["a"], "network_interface_name": null})",
                      "$.network_interface_name: expected a string, got null"},
        BadConfigCase{
            "resourceconfig.json",
            R"({"current_host": "a", "hosts": ["a"], "instance_groups": [{"hosts": ["a"]}]})",
            "$.instance_groups[0].instance_group_name: required field missing"},
        BadConfigCase{
            "resourceconfig.json",
            R"({"current_host": "a", "hosts": ["a"], "instance_groups": [{"instance_group_name": "g", "hosts": [true]}]})",
            "$.instance_groups[0].hosts[0]: expected a string, got bool"},
        BadConfigCase{"inputdataconfig.json", "\"train\"", "$: expected a JSON object, got string"},
        BadConfigCase{"checkpointconfig.json", R"({"LocalPath": 5})",
                      "$.LocalPath: expected a string, got int"}));

TEST_F(JobConfigTest, DirectoryInsteadOfFileIsAClearError) {
  std::filesystem::create_directories(paths.resource_config_file);
  EXPECT_EQ(load_error(), paths.resource_config_file.string() + ": expected a regular JSON file");
}

}  // namespace
}  // namespace smrun::config
