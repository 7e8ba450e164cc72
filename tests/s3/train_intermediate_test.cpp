// `smrun train` with the hyperparameter sagemaker_s3_output, against a real S3 server on
// loopback: what the program writes to output/intermediate reaches S3 under
// <sagemaker_s3_output>/<TRAINING_JOB_NAME>/output/intermediate/<path> while the job runs and
// even when the program exits right after writing; a failing or slow S3 is logged and never
// changes the exit code; an output/intermediate that already exists is left to the platform.

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "e2e/job_fixture.hpp"
#include "s3/support/fault_proxy.hpp"
#include "s3/support/loopback.hpp"
#include "s3/support/s3_job.hpp"
#include "s3/support/s3_server.hpp"

namespace smrun::test::e2e {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kBucket = "sm-test";
constexpr const char* kOutput = "s3://sm-test/out";
constexpr const char* kPrefix = "out/job-7/output/intermediate/";

Env s3_env(const JobDir& job, const std::string& endpoint, Env extra = {}) {
  extra.try_emplace("TRAINING_JOB_NAME", "job-7");
  return s3_job_env(job, endpoint, std::move(extra));
}

void write_job(const JobDir& job, const std::string& program,
               nlohmann::ordered_json hyperparameters = {}) {
  job.write_code_file("train.py", program);
  hyperparameters["sagemaker_program"] = "train.py";
  if (!hyperparameters.contains("sagemaker_s3_output"))
    hyperparameters["sagemaker_s3_output"] = kOutput;
  job.write_sdk_hyperparameters(hyperparameters);
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return "[" + out + "]";
}

// Every kind of finished file, then an immediate exit. `big.bin` is larger than two 5 MiB parts.
constexpr const char* kWriter = R"(import os
d = os.environ['SM_OUTPUT_INTERMEDIATE_DIR']
scratch = os.environ['E2E_SCRATCH']
def write(path, data, mode='w'):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)
write(os.path.join(d, 'direct.txt'), 'direct\n')
write(os.path.join(scratch, 'model.tmp'), 'weights v1')
os.rename(os.path.join(scratch, 'model.tmp'), os.path.join(d, 'model.pt'))
write(os.path.join(d, 'epoch-1', 'shard-0', 'part.bin'), 'shard zero')
write(os.path.join(scratch, 'built', 'a.txt'), 'moved a')
write(os.path.join(scratch, 'built', 'inner', 'b.txt'), 'moved b')
os.rename(os.path.join(scratch, 'built'), os.path.join(d, 'moved'))
write(os.path.join(d, 'big.bin'), os.urandom(11 * 1024 * 1024 + 5), 'wb')
print('wrote everything', flush=True)
)";

TEST(TrainIntermediateOutput, EverythingTheProgramWroteIsUploadedEvenWhenItExitsAtOnce) {
  S3Server s3({.buckets = {kBucket}});
  FaultProxy proxy(s3, nlohmann::json::array());  // records the requests
  JobDir job;
  write_job(job, kWriter);
  auto r = job.run_train(s3_env(job, proxy.endpoint(), {{"SMRUN_S3_PART_SIZE_MB", "5"}}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(job.success_file()));
  const std::string p = kPrefix;
  EXPECT_EQ(
      sorted(s3.objects().list(kBucket, "out/")),
      (std::vector<std::string>{p + "big.bin", p + "direct.txt", p + "epoch-1/shard-0/part.bin",
                                p + "model.pt", p + "moved/a.txt", p + "moved/inner/b.txt"}));
  const fs::path dir = job.output_dir() / "intermediate";
  EXPECT_EQ(s3.objects().get(kBucket, p + "direct.txt"), "direct\n");
  EXPECT_EQ(s3.objects().get(kBucket, p + "model.pt"), "weights v1");
  EXPECT_EQ(s3.objects().get(kBucket, p + "epoch-1/shard-0/part.bin"), "shard zero");
  EXPECT_EQ(s3.objects().get(kBucket, p + "moved/a.txt"), "moved a");
  EXPECT_EQ(s3.objects().get(kBucket, p + "moved/inner/b.txt"), "moved b");
  EXPECT_TRUE(s3.objects().get(kBucket, p + "big.bin") == read_file(dir / "big.bin"))
      << "the multipart object differs from the file";
  int parts = 0;
  for (const auto& req : proxy.requests())
    if (req.method == "PUT" && req.path.find("big.bin") != std::string::npos &&
        req.query.find("partNumber=") != std::string::npos)
      ++parts;
  EXPECT_EQ(parts, 3);
  EXPECT_NE(r.err.find("Syncing " + dir.string() +
                       " to s3://sm-test/out/job-7/output/intermediate/ while the job runs "
                       "(endpoint " +
                       proxy.endpoint()),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Intermediate output: 6 files"), std::string::npos) << r.err;
  // The staging directory never reached S3 and is gone.
  EXPECT_FALSE(fs::exists(dir / ".tmp.smrun_s3_sync"));
}

TEST(TrainIntermediateOutput, FilesAreUploadedWhileTheProgramStillRuns) {
  S3Server s3({.buckets = {kBucket}});
  JobDir job;
  // Saves a checkpoint, then waits (bounded) for the test to say it saw it in S3.
  write_job(job, R"(import os, time
d = os.environ['SM_OUTPUT_INTERMEDIATE_DIR']
with open(os.path.join(d, 'epoch-1.ckpt'), 'w') as f:
    f.write('after epoch 1')
go = os.path.join(os.environ['E2E_SCRATCH'], 'go')
deadline = time.time() + 60
while not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.05)
print('saw go' if os.path.exists(go) else 'no go', flush=True)
)");
  BackgroundProcess smrun({smrun_binary().string(), "train"}, s3_env(job, s3.endpoint()),
                          job.scratch() / "smrun.out", job.scratch() / "smrun.err");
  const std::string key = std::string(kPrefix) + "epoch-1.ckpt";
  const auto deadline = Clock::now() + 60s;
  std::vector<std::string> listed;
  while (Clock::now() < deadline) {
    listed = s3.objects().list(kBucket, "out/");
    if (std::find(listed.begin(), listed.end(), key) != listed.end()) break;
  }
  write_file(job.scratch() / "go", "");
  auto r = smrun.wait_for(60s);
  ASSERT_TRUE(r) << "smrun did not end within 60 s";
  ASSERT_NE(std::find(listed.begin(), listed.end(), key), listed.end())
      << "waited 60 s for " << key << " to be uploaded while the program ran; the bucket has "
      << joined(listed);
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_NE(read_file(job.scratch() / "smrun.out").find("saw go"), std::string::npos);
  EXPECT_EQ(s3.objects().get(kBucket, key), "after epoch 1");
}

TEST(TrainIntermediateOutput, AFailedProgramKeepsItsExitCodeAndItsFilesAreUploaded) {
  S3Server s3({.buckets = {kBucket}});
  JobDir job;
  write_job(job, R"(import os, sys
with open(os.path.join(os.environ['SM_OUTPUT_INTERMEDIATE_DIR'], 'crash.log'), 'w') as f:
    f.write('what happened')
sys.exit(3)
)");
  auto r = job.run_train(s3_env(job, s3.endpoint()));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(fs::exists(job.failure_file()));
  EXPECT_EQ(s3.objects().get(kBucket, std::string(kPrefix) + "crash.log"), "what happened");
}

TEST(TrainIntermediateOutput, AnS3ThatRefusesEveryPutIsLoggedAndTheJobStillSucceeds) {
  S3Server s3({.buckets = {kBucket}});
  FaultProxy proxy(s3, nlohmann::json::parse(R"([{"fault": "error", "status": 403,
      "code": "AccessDenied", "message": "Access Denied", "method": "PUT", "times": -1}])"));
  JobDir job;
  write_job(job, R"(import os
with open(os.path.join(os.environ['SM_OUTPUT_INTERMEDIATE_DIR'], 'ckpt.pt'), 'w') as f:
    f.write('lost')
)");
  auto r = job.run_train(s3_env(job, proxy.endpoint()));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(job.success_file()));
  EXPECT_NE(r.err.find("intermediate output: upload of s3://sm-test/out/job-7/output/"
                       "intermediate/ckpt.pt failed: AccessDenied (HTTP 403): Access Denied"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(s3.objects().list(kBucket, "out/").empty());
}

TEST(TrainIntermediateOutput, ASlowS3DelaysTheEndOnlyUpToTheWaitSetting) {
  S3Server s3({.buckets = {kBucket}});
  FaultProxy proxy(s3, nlohmann::json::parse(R"([{"fault": "delay", "ms": 120000,
      "method": "PUT", "times": -1}])"));
  JobDir job;
  write_job(job, R"(import os
with open(os.path.join(os.environ['SM_OUTPUT_INTERMEDIATE_DIR'], 'stuck.bin'), 'w') as f:
    f.write('stuck')
)");
  const auto t0 = Clock::now();
  auto r = job.run_train(s3_env(job, proxy.endpoint(), {{"SMRUN_S3_SYNC_WAIT_SECONDS", "2"}}));
  const auto took = Clock::now() - t0;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(took, 30s);
  EXPECT_NE(r.err.find("intermediate output: 1 file not uploaded within "
                       "SMRUN_S3_SYNC_WAIT_SECONDS=2: s3://sm-test/out/job-7/output/"
                       "intermediate/stuck.bin"),
            std::string::npos)
      << r.err;
}

TEST(TrainIntermediateOutput, AnExistingIntermediateDirectoryIsLeftToThePlatform) {
  S3Server s3({.buckets = {kBucket}});
  FaultProxy proxy(s3, nlohmann::json::array());
  JobDir job;
  fs::create_directories(job.output_dir() / "intermediate");
  write_job(job, R"(import os
with open(os.path.join(os.environ['SM_OUTPUT_INTERMEDIATE_DIR'], 'mine.txt'), 'w') as f:
    f.write('synced by the platform')
)");
  auto r = job.run_train(s3_env(job, proxy.endpoint()));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find((job.output_dir() / "intermediate").string() +
                       " already exists, so the platform syncs it to S3: smrun does not upload "
                       "it"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(proxy.requests().empty());
  EXPECT_FALSE(fs::exists(job.output_dir() / "intermediate" / ".tmp.smrun_s3_sync"));
}

TEST(TrainIntermediateOutput, AFileOutputIsNotSynced) {
  S3Server s3({.buckets = {kBucket}});
  FaultProxy proxy(s3, nlohmann::json::array());
  JobDir job;
  write_job(job, "print('local')\n",
            {{"sagemaker_s3_output", "file://" + (job.scratch() / "local").string()}});
  auto r = job.run_train(s3_env(job, proxy.endpoint()));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(proxy.requests().empty());
  EXPECT_TRUE(fs::is_directory(job.output_dir() / "intermediate"));  // as the reference does
  EXPECT_EQ(r.err.find("Syncing"), std::string::npos) << r.err;
}

TEST(TrainIntermediateOutput, AnotherSchemeIsAConfigErrorNamingTheHyperparameter) {
  JobDir job;
  write_job(job, "print('never runs')\n", {{"sagemaker_s3_output", "gs://bucket/out"}});
  auto r = job.run_train(job.environment());
  EXPECT_EQ(r.exit_code, 65) << r.err;
  EXPECT_EQ(first_line(read_file(job.failure_file())),
            "ConfigError: hyperparameter sagemaker_s3_output='gs://bucket/out': expected an "
            "s3:// URL (or file:// for a local output), got scheme 'gs' (on algo-1)");
  EXPECT_EQ(r.out.find("never runs"), std::string::npos);
}

TEST(TrainIntermediateOutput, AMalformedWaitSettingIsAConfigError) {
  JobDir job;
  write_job(job, "print('never runs')\n");
  auto r = job.run_train(job.environment({{"SMRUN_S3_SYNC_WAIT_SECONDS", "soon"}}));
  EXPECT_EQ(r.exit_code, 65) << r.err;
  EXPECT_EQ(
      first_line(read_file(job.failure_file())),
      "ConfigError: environment variable SMRUN_S3_SYNC_WAIT_SECONDS='soon': expected an integer "
      "from 0 to 86400 "
      "(on algo-1)");
}

TEST(TrainIntermediateOutput, WithoutTrainingJobNameTheKeysUseSagemakerJobNameElseNone) {
  S3Server s3({.buckets = {kBucket}});
  const std::string program = R"(import os
with open(os.path.join(os.environ['SM_OUTPUT_INTERMEDIATE_DIR'], 'x.txt'), 'w') as f:
    f.write('x')
)";
  {
    JobDir job;
    write_job(job, program, {{"sagemaker_job_name", "sdk-job"}});
    auto r = job.run_train(without(s3_env(job, s3.endpoint()), {"TRAINING_JOB_NAME"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(s3.objects().get(kBucket, "out/sdk-job/output/intermediate/x.txt"), "x");
    EXPECT_NE(r.err.find("TRAINING_JOB_NAME is not set: intermediate output keys use "
                         "sagemaker_job_name=sdk-job"),
              std::string::npos)
        << r.err;
  }
  {
    JobDir job;
    write_job(job, program, {{"sagemaker_s3_output", "s3://sm-test/bare"}});
    auto r = job.run_train(without(s3_env(job, s3.endpoint()), {"TRAINING_JOB_NAME"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(s3.objects().get(kBucket, "bare/output/intermediate/x.txt"), "x");
    EXPECT_NE(r.err.find("neither TRAINING_JOB_NAME nor sagemaker_job_name is set"),
              std::string::npos)
        << r.err;
  }
}

TEST(TrainIntermediateOutput, TheDistributedPathSyncsToo) {
  S3Server s3({.buckets = {kBucket}});
  JobDir job;
  write_job(job, R"(import os
rank = os.environ['RANK']
with open(os.path.join(os.environ['SM_OUTPUT_INTERMEDIATE_DIR'], 'rank-' + rank + '.txt'), 'w') as f:
    f.write('rank ' + rank)
)");
  auto r = job.run_train(
      s3_env(job, s3.endpoint(), {{"SMRUN_LAUNCHER", "native"}, {"SMRUN_NPROC_PER_NODE", "2"}}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("launcher native"), std::string::npos) << r.err;
  EXPECT_EQ(s3.objects().get(kBucket, std::string(kPrefix) + "rank-0.txt"), "rank 0");
  EXPECT_EQ(s3.objects().get(kBucket, std::string(kPrefix) + "rank-1.txt"), "rank 1");
}

}  // namespace
}  // namespace smrun::test::e2e
