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
//      AWS_CONTAINER_AUTHORIZATION_TOKEN) — what a SageMaker training container gets. As in the
//      SDKs, a FULL_URI must be https, or http to a loopback address (127.0.0.0/8, ::1,
//      localhost) or to the ECS/EKS agents (169.254.170.2, 169.254.170.23, fd00:ec2::23);
//   4. EC2 instance metadata (IMDSv2): PUT /latest/api/token (TTL header), then
//      GET /latest/meta-data/iam/security-credentials/ (role name), then .../<role>; endpoint
//      AWS_EC2_METADATA_SERVICE_ENDPOINT (default http://169.254.169.254, or
//      http://[fd00:ec2::254] with AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6); skipped when
//      AWS_EC2_METADATA_DISABLED=true. An unreachable IMDS means "no credentials here" (not an
//      error), as in the SDKs: most machines are not EC2 instances.
// The first source that has credentials wins; a source that is configured but fails (a bad
// file, an endpoint answering an error) is an error naming that source, as in the SDKs.
// When none has any, the error lists every source tried. Secrets never appear in messages.
// Errors are kConfig when a setting or file is wrong (partial keys, a malformed file, a
// FULL_URI that is not allowed) and kCode when credentials could not be obtained (an endpoint
// failed, no source had any): without them the code cannot be fetched.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
  std::chrono::milliseconds endpoint_timeout{5'000};  // container endpoint HTTP requests
  int endpoint_attempts = 3;                          // per request, with a short backoff
  // IMDS requests, short like the SDKs' (1 s, 1 attempt) so that a machine that is not an EC2
  // instance finds out quickly; AWS_METADATA_SERVICE_TIMEOUT (seconds) and
  // AWS_METADATA_SERVICE_NUM_ATTEMPTS override them.
  std::chrono::milliseconds imds_timeout{1'000};
  int imds_attempts = 1;
};

// Resolves credentials once, walking the chain. ~ in file paths is HOME from `env`.
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
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // `clock` (default: the system clock) decides when credentials are due for a refresh. When a
  // refresh fails while the current credentials have not expired yet, they are kept.
  explicit CredentialCache(EnvLookup env, CredentialOptions options = {},
                           std::chrono::seconds refresh_before = std::chrono::minutes(5),
                           Clock clock = {});

  // Current credentials, refreshed first when needed (the first call resolves them).
  base::Expected<Credentials> get();
  // Forget the current credentials (after S3 said ExpiredToken): the next get() resolves again.
  void invalidate();

 private:
  EnvLookup m_env;
  CredentialOptions m_options;
  std::chrono::seconds m_refresh_before;
  Clock m_clock;
  std::mutex m_mutex;
  std::optional<Credentials> m_current;
};

// Parsing pieces, exposed for tests and fuzzing.

// One INI-style AWS shared file: section name -> key -> value ("[profile x]" kept as written).
struct SharedFile {
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> sections;
  const std::vector<std::pair<std::string, std::string>>* section(const std::string& name) const;
};
// Python configparser's rules, as botocore reads these files: full-line comments ('#', ';'),
// "key = value" or "key: value" with keys lower-cased and both sides trimmed, indented lines
// continuing the previous value (joined with '\n'), lines ended by LF, CRLF or CR. Errors are
// kConfig and name the file and line (never a value): a property outside a section, a line that is
// neither, a duplicate section or key.
base::Expected<SharedFile> parse_shared_file(std::string_view text, const std::string& filename);

// The JSON a container credentials endpoint or IMDS returns ({"AccessKeyId", "SecretAccessKey",
// "Token", "Expiration": ISO 8601, IMDS's "Code": "Success"}); `source` names the endpoint in
// errors, which never quote the document. Keys must be printable ASCII without spaces.
base::Expected<Credentials> parse_credentials_json(std::string_view json,
                                                   const std::string& source);

// "2019-05-29T00:21:43Z", with optional fractional seconds and a "+hh:mm" offset instead of Z.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

// Where container credentials would come from, without contacting it: nullopt when neither
// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor _FULL_URI is set; a kConfig error for a FULL_URI
// that is malformed or not allowed (see above).
struct ContainerEndpoint {
  std::string url;  // what is requested
  // For messages: scheme and authority, and the variable that set it, e.g.
  // "http://169.254.170.2 (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)". Never the path: it may
  // identify the credentials.
  std::string display;
};
base::Expected<std::optional<ContainerEndpoint>> container_credentials_endpoint(
    const EnvLookup& env);

}  // namespace smrun::s3
