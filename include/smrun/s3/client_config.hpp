#pragma once

// Region, endpoint and addressing style of the S3 client, resolved as the reference and the AWS
// SDKs do, plus where each came from (for `smrun env` and the log).

#include <optional>
#include <string>

#include "smrun/base/expected.hpp"
#include "smrun/s3/aws_env.hpp"
#include "smrun/s3/http.hpp"
#include "smrun/s3/retry.hpp"
#include "smrun/settings/settings.hpp"

namespace smrun::s3 {

struct TransferSettings {
  RetryPolicy retry;
  std::chrono::milliseconds timeout{60'000};  // SMRUN_S3_TIMEOUT_SECONDS: connect and idle read
  int concurrency = 8;                        // SMRUN_S3_CONCURRENCY: parallel ranged GETs/parts
  std::uint64_t part_size = 16ull << 20;      // SMRUN_S3_PART_SIZE_MB
  std::chrono::milliseconds progress_interval{10'000};  // SMRUN_S3_PROGRESS_SECONDS
};

// The SMRUN_S3_* settings as the client uses them (TransferSettings{} holds their defaults).
TransferSettings transfer_settings(const settings::Settings& settings);

struct ClientConfig {
  std::string region;         // "us-east-1" when nothing says otherwise
  std::string region_source;  // "AWS_REGION", "sagemaker_region", ..., "default"
  // A custom endpoint (S3_ENDPOINT_URL, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL), else nullopt:
  // https://s3.<region>.amazonaws.com.
  std::optional<HttpUrl> endpoint;
  std::string endpoint_source;
  std::optional<std::filesystem::path> ca_bundle;  // nullopt: OpenSSL's default paths
  TransferSettings transfer;
};

// `sagemaker_region` is the hyperparameter (empty when absent). Region order: AWS_REGION,
// sagemaker_region, SAGEMAKER_REGION, AWS_DEFAULT_REGION, "us-east-1".
base::Expected<ClientConfig> resolve_client_config(const EnvLookup& env,
                                                   const std::string& sagemaker_region,
                                                   const TransferSettings& transfer = {});

// Where a request for bucket/key goes: virtual-hosted (https://bucket.s3.region.amazonaws.com/key)
// by default; path style (https://endpoint/bucket/key) for custom endpoints and for bucket names
// that are not DNS-safe under TLS (dots, upper case, '_').
struct RequestAddress {
  HttpUrl url;                // scheme, host, port; target = canonical (encoded) path only
  std::string canonical_uri;  // the encoded path SigV4 signs
};
RequestAddress address_for(const ClientConfig& config, const std::string& region,
                           const std::string& bucket, const std::string& key);

}  // namespace smrun::s3
