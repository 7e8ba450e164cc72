#pragma once

// Wiring the s3 area into train and env: the client configuration from the job and the process
// environment, the downloader that code::prepare_code_dir calls for s3:// submit directories,
// and what the dry run says about both.

#include <memory>
#include <string>

#include "smrun/base/expected.hpp"
#include "smrun/cli/job_context.hpp"
#include "smrun/code/submit_dir.hpp"
#include "smrun/s3/aws_env.hpp"
#include "smrun/s3/client_config.hpp"
#include "smrun/s3/intermediate_sync.hpp"

namespace smrun::cli {

s3::EnvLookup aws_environment(const JobContext& ctx);

// Region (AWS_REGION, sagemaker_region, SAGEMAKER_REGION, AWS_DEFAULT_REGION), endpoint and
// SMRUN_S3_* settings. kConfig errors name the variable.
base::Expected<s3::ClientConfig> s3_client_config(const JobContext& ctx);

// Downloads s3:// submit directories with the credential chain, logging where from and how fast.
code::RemoteFetch s3_code_fetcher(const JobContext& ctx);

// The intermediate output sync (s3/intermediate_sync.hpp) of `train`, started before the user
// code is fetched (as in the reference) when the hyperparameter sagemaker_s3_output is an s3://
// URL and <base>/output/intermediate does not exist yet (it is created); null when there is
// nothing to sync: no sagemaker_s3_output, a file:// one, or an output/intermediate that already
// exists (the platform syncs it; logged). The caller finish()es it once the job's outcome is
// written. kConfig errors: sagemaker_s3_output with another scheme, malformed S3 settings.
base::Expected<std::unique_ptr<s3::IntermediateSync>> start_intermediate_sync(
    const JobContext& ctx);

// For `smrun env`: {"url", "endpoint", "region", "region_source", "credentials"} of the S3 fetch
// train would make, or an empty object when the submit directory is not on S3. Adds a warning
// when no credentials would be found. Never contacts anything.
struct S3DryRun {
  std::string url, endpoint, region, region_source, credentials;
  std::string warning;  // empty when all is well
};
std::optional<S3DryRun> s3_dry_run(const JobContext& ctx);

}  // namespace smrun::cli
