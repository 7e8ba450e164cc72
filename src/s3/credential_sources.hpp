#pragma once

// The links of the credential chain (credentials.hpp), one per source. Private to the s3 area.

#include <optional>
#include <string>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/s3/aws_env.hpp"
#include "smrun/s3/credentials.hpp"

namespace smrun::s3::detail {

// What one source gave: credentials, or the reasons it had none, one per place it looked
// ("environment (AWS_ACCESS_KEY_ID not set)"). An error means configured but failing.
struct SourceResult {
  std::optional<Credentials> credentials;
  std::vector<std::string> tried;
};

base::Expected<SourceResult> from_environment(const EnvLookup& env);
base::Expected<SourceResult> from_shared_files(const EnvLookup& env);
base::Expected<SourceResult> from_container(const EnvLookup& env, const CredentialOptions& options);
base::Expected<SourceResult> from_instance_metadata(const EnvLookup& env,
                                                    const CredentialOptions& options);

// A variable's value when it is set and not empty.
std::optional<std::string> non_empty(const EnvLookup& env, const std::string& name);

// Printable ASCII without spaces: what can go into an HTTP header unchanged. Keys, secrets and
// tokens are checked with it before use.
bool is_header_safe_token(std::string_view value);

// The IMDS endpoint (never contacted here), or a kConfig error for a malformed setting.
base::Expected<std::string> instance_metadata_endpoint(const EnvLookup& env);
bool instance_metadata_disabled(const EnvLookup& env);

}  // namespace smrun::s3::detail
