#pragma once

// The AWS credential chain in the SDKs' order, and credentials that refresh themselves.
//
//   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
//   2. shared files: AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials) and AWS_CONFIG_FILE
//      (default ~/.aws/config; sections "[profile NAME]", "[default]"), profile from AWS_PROFILE
//      (else "default"); static keys (aws_access_key_id, aws_secret_access_key,
//      aws_session_token), the credentials file winning over the config file per profile;
//   3. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI against
//      http://169.254.170.2 (AWS_CONTAINER_CREDENTIALS_FULL_URI otherwise, with the
//      Authorization header from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, else
//      AWS_CONTAINER_AUTHORIZATION_TOKEN) — what a SageMaker training container gets;
//   4. EC2 instance metadata (IMDSv2): PUT /latest/api/token (TTL header), then
//      GET /latest/meta-data/iam/security-credentials/ (role name), then .../<role>; endpoint
//      AWS_EC2_METADATA_SERVICE_ENDPOINT (default http://169.254.169.254); skipped when
//      AWS_EC2_METADATA_DISABLED=true.
// The first source that has credentials wins; a source that is configured but fails (a bad
// file, an endpoint answering an error) is an error naming that source, as in the SDKs.
// When none has any, the error lists every source tried. Secrets never appear in messages.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/s3/aws_env.hpp"
#include "smrun/s3/sigv4.hpp"

namespace smrun::s3 {

struct Credentials {
  SigningCredentials keys;
  // When temporary credentials stop working (nullopt: long-term keys).
  std::optional<std::chrono::system_clock::time_point> expiration;
  // Where they came from, for logs: "environment", "shared credentials file /root/.aws/credentials
  // (profile default)", "container credentials endpoint", "EC2 instance metadata (role r)".
  std::string source;
};

struct CredentialOptions {
  std::chrono::milliseconds endpoint_timeout{5'000};  // container/IMDS HTTP requests
  int endpoint_attempts = 3;                          // per request, with a short backoff
};

// Resolves credentials once, walking the chain. `home` is where ~ points (HOME).
base::Expected<Credentials> resolve_credentials(const EnvLookup& env,
                                                const CredentialOptions& options = {});

// A short description of the source that would be used, without contacting any endpoint
// ("environment", "container credentials endpoint http://169.254.170.2/v2/credentials/...", or
// "none: tried environment, shared files (...), ..."). For `smrun env`.
std::string describe_credential_source(const EnvLookup& env);

// Thread-safe holder that refreshes temporary credentials (by re-resolving the chain) once they
// are within `refresh_before` of expiring, so a transfer or a sync can run for days.
class CredentialCache {
 public:
  explicit CredentialCache(EnvLookup env, CredentialOptions options = {},
                           std::chrono::seconds refresh_before = std::chrono::minutes(5));

  // Current credentials, refreshed first when needed (the first call resolves them).
  base::Expected<Credentials> get();
  // Forget the current credentials (after S3 said ExpiredToken): the next get() resolves again.
  void invalidate();

 private:
  EnvLookup m_env;
  CredentialOptions m_options;
  std::chrono::seconds m_refresh_before;
  std::mutex m_mutex;
  std::optional<Credentials> m_current;
};

// Parsing pieces, exposed for tests and fuzzing.

// One INI-style AWS shared file: section name -> key -> value ("[profile x]" kept as written).
struct SharedFile {
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> sections;
  const std::vector<std::pair<std::string, std::string>>* section(const std::string& name) const;
};
// Errors are kConfig and name the file and line.
base::Expected<SharedFile> parse_shared_file(std::string_view text, const std::string& filename);

// The JSON a container credentials endpoint or IMDS returns ({"AccessKeyId", "SecretAccessKey",
// "Token", "Expiration": ISO 8601}); `source` names the endpoint in errors.
base::Expected<Credentials> parse_credentials_json(std::string_view json,
                                                   const std::string& source);

}  // namespace smrun::s3
