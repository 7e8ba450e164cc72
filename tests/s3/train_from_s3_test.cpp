// `smrun train` and `smrun env` for the most common SageMaker job: script mode with
// sagemaker_submit_directory=s3://.../sourcedir.tar.gz, against a real S3 server on loopback.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/job_fixture.hpp"
#include "s3/support/fault_proxy.hpp"
#include "s3/support/loopback.hpp"
#include "s3/support/s3_job.hpp"
#include "s3/support/s3_server.hpp"

namespace smrun::test::e2e {
namespace {

constexpr const char* kSourceUrl = "s3://sm-test/job-1/source/sourcedir.tar.gz";

// A sourcedir.tar.gz with train.py that prints its argv and SM_MODULE_DIR, and saves a model.
std::string make_sourcedir(const JobDir& job) {
  const fs::path src = job.scratch() / "src";
  write_file(src / "train.py",
             "import os, sys\n"
             "print('trained from', os.environ['SM_MODULE_DIR'], sys.argv[1:], flush=True)\n"
             "open(os.path.join(os.environ['SM_MODEL_DIR'], 'model.txt'), 'w').write('w')\n");
  write_file(src / "lib" / "helper.py", "X = 1\n");
  const fs::path tarball = job.scratch() / "sourcedir.tar.gz";
  ProcessOptions tar;
  tar.argv = {"/usr/bin/tar", "-czf", tarball.string(), "-C", src.string(), "."};
  EXPECT_EQ(run_process(tar).exit_code, 0);
  return read_file(tarball);
}

TEST(TrainFromS3, DownloadsExtractsAndRunsTheScript) {
  S3Server s3({.buckets = {"sm-test"}});
  JobDir job;
  s3.objects().put("sm-test", "job-1/source/sourcedir.tar.gz", make_sourcedir(job));
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"},
                                 {"sagemaker_submit_directory", kSourceUrl},
                                 {"epochs", 3}});
  auto r = job.run_train(s3_job_env(job, s3.endpoint()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(std::string("trained from ") + kSourceUrl + " ['--epochs', '3']"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(fs::exists(job.code_dir() / "lib" / "helper.py"));
  EXPECT_TRUE(fs::exists(job.success_file()));
  EXPECT_EQ(tar_members(job.default_archive()), std::vector<std::string>{"model.txt"});
  EXPECT_NE(r.err.find("Downloading s3://sm-test/job-1/source/sourcedir.tar.gz (endpoint " +
                       s3.endpoint()),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("credentials from environment)"), std::string::npos);
  EXPECT_EQ(r.err.find(S3Server::kSecretKey + std::string("\n")), std::string::npos);
}

TEST(TrainFromS3, SubmitDirectoryVariableWorksToo) {
  S3Server s3({.buckets = {"sm-test"}});
  JobDir job;
  s3.objects().put("sm-test", "job-1/source/sourcedir.tar.gz", make_sourcedir(job));
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  auto r =
      job.run_train(s3_job_env(job, s3.endpoint(), {{"SAGEMAKER_SUBMIT_DIRECTORY", kSourceUrl}}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("trained from"), std::string::npos);
}

TEST(TrainFromS3, ANonEmptyCodeDirWinsAndNothingIsFetched) {
  S3Server s3({.buckets = {"sm-test"}});
  FaultProxy proxy(s3, nlohmann::json::array());
  JobDir job;
  job.write_code_file("train.py", "print('baked into the image')\n");
  job.write_sdk_hyperparameters(
      {{"sagemaker_program", "train.py"}, {"sagemaker_submit_directory", kSourceUrl}});
  auto r = job.run_train(s3_job_env(job, proxy.endpoint()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("baked into the image"), std::string::npos);
  EXPECT_NE(r.err.find("is not empty; using it as is and ignoring submit directory " +
                       std::string(kSourceUrl)),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(proxy.requests().empty());
}

TEST(TrainFromS3, ThrottledAndBrokenDownloadsStillSucceed) {
  S3Server s3({.buckets = {"sm-test"}});
  JobDir job;
  const std::string tarball = make_sourcedir(job);
  s3.objects().put("sm-test", "job-1/source/sourcedir.tar.gz", tarball);
  FaultProxy proxy(s3, nlohmann::json::parse(R"([{"fault": "slow_down", "times": 2},
                                                {"fault": "reset", "after_bytes": 100}])"));
  job.write_sdk_hyperparameters(
      {{"sagemaker_program", "train.py"}, {"sagemaker_submit_directory", kSourceUrl}});
  auto r = job.run_train(s3_job_env(job, proxy.endpoint()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("3 retries)"), std::string::npos) << r.err;
  const auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[2].action, "reset");
  // Resumed after the bytes that arrived, never from byte 0 again.
  ASSERT_TRUE(seen[3].range);
  EXPECT_NE(*seen[3].range, *seen[2].range);
  // The first answer's ETag is pinned, so the rest comes from the same object.
  ASSERT_EQ(seen[3].headers.count("if-match"), 1u);
  EXPECT_EQ(seen[3].headers.at("if-match"),
            s3.objects().head("sm-test", "job-1/source/sourcedir.tar.gz").etag);
}

TEST(TrainFromS3, ASlowDownloadLogsProgressLines) {
  S3Server s3({.buckets = {"sm-test"}});
  JobDir job;
  s3.objects().put("sm-test", "job-1/source/sourcedir.tar.gz", make_sourcedir(job));
  // The body stalls for 2.5 s after its first 50 bytes; progress is due every second.
  FaultProxy proxy(s3, nlohmann::json::parse(R"([{"fault": "delay", "ms": 2500,
                                                 "after_bytes": 50}])"));
  job.write_sdk_hyperparameters(
      {{"sagemaker_program", "train.py"}, {"sagemaker_submit_directory", kSourceUrl}});
  auto r = job.run_train(s3_job_env(job, proxy.endpoint(), {{"SMRUN_S3_PROGRESS_SECONDS", "1"}}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string prefix = std::string("download of ") + kSourceUrl + ": 50 B of ";
  const auto at = r.err.find(prefix);
  ASSERT_NE(at, std::string::npos) << r.err;
  const std::string line = r.err.substr(at, r.err.find('\n', at) - at);
  EXPECT_NE(line.find("%), "), std::string::npos) << line;
  EXPECT_NE(line.find("B/s, about "), std::string::npos) << line;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << "progress must not use carriage returns";
}

TEST(TrainFromS3, ANonArchiveObjectIsAClearError) {
  S3Server s3({.buckets = {"sm-test"}});
  JobDir job;
  s3.objects().put("sm-test", "job-1/source/sourcedir.tar.gz", "print('not a tarball')\n");
  job.write_sdk_hyperparameters(
      {{"sagemaker_program", "train.py"}, {"sagemaker_submit_directory", kSourceUrl}});
  auto r = job.run_train(s3_job_env(job, s3.endpoint()));
  EXPECT_EQ(r.exit_code, 66) << r.err;
  EXPECT_EQ(first_line(read_file(job.failure_file())),
            "UserCodeError: submit directory s3://sm-test/job-1/source/sourcedir.tar.gz is not "
            "a tar archive (expected a .tar.gz such as the sourcedir.tar.gz the SageMaker SDK "
            "uploads) (on algo-1)");
  EXPECT_TRUE(fs::is_empty(job.code_dir()));
}

TEST(TrainFromS3, AMissingObjectNamesTheUrlAndS3sCode) {
  S3Server s3({.buckets = {"sm-test"}});
  JobDir job;
  job.write_sdk_hyperparameters(
      {{"sagemaker_program", "train.py"}, {"sagemaker_submit_directory", kSourceUrl}});
  auto r = job.run_train(s3_job_env(job, s3.endpoint()));
  EXPECT_EQ(r.exit_code, 66);
  EXPECT_EQ(first_line(read_file(job.failure_file())),
            "UserCodeError: download of s3://sm-test/job-1/source/sourcedir.tar.gz failed: "
            "NoSuchKey (HTTP 404): The specified key does not exist; no object has this key; "
            "check the URL (the SageMaker SDK uploads source_dir as "
            "<prefix>/source/sourcedir.tar.gz) (on algo-1)");
}

TEST(TrainFromS3, NoCredentialsListsEverySourceTried) {
  S3Server s3({.buckets = {"sm-test"}});
  JobDir job;
  job.write_sdk_hyperparameters(
      {{"sagemaker_program", "train.py"}, {"sagemaker_submit_directory", kSourceUrl}});
  Env env = without(s3_job_env(job, s3.endpoint()), {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"});
  auto r = job.run_train(env);
  EXPECT_EQ(r.exit_code, 66);
  const std::string line = first_line(read_file(job.failure_file()));
  EXPECT_EQ(line.rfind("UserCodeError: cannot download s3://sm-test/job-1/source/sourcedir.tar.gz: "
                       "no AWS credentials found",
                       0),
            0u)
      << line;
  for (const char* source :
       {"environment", "shared credentials file", "container credentials", "EC2 instance metadata"})
    EXPECT_NE(line.find(source), std::string::npos) << source << " missing in: " << line;
}

TEST(TrainFromS3, DryRunShowsWhatWouldBeFetchedWithoutContactingS3) {
  S3Server s3({.buckets = {"sm-test"}});
  FaultProxy proxy(s3, nlohmann::json::array());
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"},
                                 {"sagemaker_submit_directory", kSourceUrl},
                                 {"sagemaker_region", "eu-central-1"}});
  auto r = job.run_env({"--format", "json"}, s3_job_env(job, proxy.endpoint()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = nlohmann::json::parse(r.out);
  const auto& code = out.at("s3_code");
  EXPECT_EQ(code.at("url"), kSourceUrl);
  EXPECT_EQ(code.at("fetched"), true);
  EXPECT_EQ(code.at("endpoint"), proxy.endpoint() + "/ (from S3_ENDPOINT_URL)");
  EXPECT_EQ(code.at("region"), "eu-central-1");
  EXPECT_EQ(code.at("region_source"), "sagemaker_region");
  EXPECT_EQ(code.at("credentials"), "environment");
  EXPECT_EQ(out.at("warnings"), nlohmann::json::array());
  EXPECT_TRUE(proxy.requests().empty());

  Env none =
      without(s3_job_env(job, proxy.endpoint()), {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"});
  auto w = job.run_env({"--format", "json"}, none);
  ASSERT_EQ(w.exit_code, 0) << w.err;
  const auto warned = nlohmann::json::parse(w.out);
  ASSERT_EQ(warned.at("warnings").size(), 1u) << w.out;
  EXPECT_EQ(warned.at("warnings")[0].get<std::string>().rfind(
                "train could not download s3://sm-test/job-1/source/sourcedir.tar.gz: no AWS "
                "credentials would be found",
                0),
            0u)
      << w.out;
}

TEST(S3Copy, UploadsAndDownloadsWithoutEverLosingTheDestination) {
  S3Server s3({.buckets = {"sm-test"}});
  JobDir job;
  const Env env = s3_job_env(job, s3.endpoint());
  write_file(job.scratch() / "up.txt", "round trip\n");
  auto up =
      job.run_smrun({"s3", "cp", (job.scratch() / "up.txt").string(), "s3://sm-test/a/b.txt"}, env);
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(s3.objects().get("sm-test", "a/b.txt"), "round trip\n");
  auto down = job.run_smrun(
      {"s3", "cp", "s3://sm-test/a/b.txt", (job.scratch() / "down.txt").string()}, env);
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(read_file(job.scratch() / "down.txt"), "round trip\n");

  // A failed download leaves an existing destination as it was, and no partial file.
  write_file(job.scratch() / "keep.txt", "precious");
  auto missing =
      job.run_smrun({"s3", "cp", "s3://sm-test/nope", (job.scratch() / "keep.txt").string()}, env);
  EXPECT_EQ(missing.exit_code, 66);
  EXPECT_EQ(first_line(missing.err),
            "smrun: error: download of s3://sm-test/nope failed: NoSuchKey (HTTP 404): The "
            "specified key does not exist; no object has this key; check the URL (the SageMaker "
            "SDK uploads source_dir as <prefix>/source/sourcedir.tar.gz)");
  EXPECT_EQ(read_file(job.scratch() / "keep.txt"), "precious");
  EXPECT_FALSE(fs::exists(job.scratch() / ".keep.txt.smrun-partial"));

  auto usage = job.run_smrun({"s3", "cp", "a", "b"}, env);
  EXPECT_EQ(usage.exit_code, 64);
  EXPECT_EQ(first_line(usage.err), "smrun: error: exactly one of SRC and DST must be an s3:// URL");
}

}  // namespace
}  // namespace smrun::test::e2e
