// The credential chain (environment, shared files, container endpoint, instance metadata) and
// the cache that refreshes temporary credentials before they expire.

#include "smrun/s3/credentials.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "credential_sources.hpp"

namespace smrun::s3 {

namespace detail {

std::optional<std::string> non_empty(const EnvLookup& env, const std::string& name) {
  auto value = env(name);
  if (!value || value->empty()) return std::nullopt;
  return value;
}

bool is_header_safe_token(std::string_view value) {
  for (unsigned char c : value)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

base::Expected<SourceResult> from_environment(const EnvLookup& env) {
  const auto id = non_empty(env, "AWS_ACCESS_KEY_ID");
  const auto secret = non_empty(env, "AWS_SECRET_ACCESS_KEY");
  const auto token = non_empty(env, "AWS_SESSION_TOKEN") ? non_empty(env, "AWS_SESSION_TOKEN")
                                                         : non_empty(env, "AWS_SECURITY_TOKEN");
  SourceResult out;
  if (!id && !secret) {
    out.tried.emplace_back("environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set)");
    return out;
  }
  if (!id || !secret)
    return base::fail(base::ErrorKind::kConfig,
                      fmt::format("environment: {} is set but {} is not (set both or neither)",
                                  id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                                  id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"));
  for (const auto& [name, value] :
       {std::pair{"AWS_ACCESS_KEY_ID", &id}, std::pair{"AWS_SECRET_ACCESS_KEY", &secret},
        std::pair{"AWS_SESSION_TOKEN", &token}})
    if (*value && !is_header_safe_token(**value))
      return base::fail(base::ErrorKind::kConfig,
                        fmt::format("environment: {} has characters that cannot be sent "
                                    "(whitespace, control or non-ASCII)",
                                    name));
  out.credentials = Credentials{{*id, *secret, token.value_or("")}, std::nullopt, "environment"};
  return out;
}

}  // namespace detail

base::Expected<Credentials> resolve_credentials(const EnvLookup& env,
                                                const CredentialOptions& options) {
  std::vector<std::string> tried;
  const auto walk = [&](base::Expected<detail::SourceResult> result)
      -> std::optional<base::Expected<Credentials>> {
    if (!result) return base::Expected<Credentials>(base::Unexpected(result.error()));
    if (result->credentials) return base::Expected<Credentials>(std::move(*result->credentials));
    tried.insert(tried.end(), result->tried.begin(), result->tried.end());
    return std::nullopt;
  };
  if (auto done = walk(detail::from_environment(env))) return std::move(*done);
  if (auto done = walk(detail::from_shared_files(env))) return std::move(*done);
  if (auto done = walk(detail::from_container(env, options))) return std::move(*done);
  if (auto done = walk(detail::from_instance_metadata(env, options))) return std::move(*done);
  return base::fail(base::ErrorKind::kCode,
                    fmt::format("no AWS credentials found; tried {}", fmt::join(tried, "; ")));
}

std::string describe_credential_source(const EnvLookup& env) {
  std::vector<std::string> tried;
  // Sources read locally are asked for real; endpoints are only named.
  for (auto* local : {&detail::from_environment, &detail::from_shared_files}) {
    auto result = (*local)(env);
    if (!result) return "error: " + result.error().message;
    if (result->credentials) return result->credentials->source;
    tried.insert(tried.end(), result->tried.begin(), result->tried.end());
  }
  auto container = container_credentials_endpoint(env);
  if (!container) return "error: " + container.error().message;
  if (*container) return "container credentials endpoint " + (*container)->display;
  tried.push_back(
      "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
      "AWS_CONTAINER_CREDENTIALS_FULL_URI not set)");
  if (!detail::instance_metadata_disabled(env)) {
    auto endpoint = detail::instance_metadata_endpoint(env);
    if (!endpoint) return "error: " + endpoint.error().message;
    return "EC2 instance metadata " + *endpoint + ", if this is an EC2 instance with a role";
  }
  tried.push_back("EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)");
  return fmt::format("none: tried {}", fmt::join(tried, "; "));
}

CredentialCache::CredentialCache(EnvLookup env, CredentialOptions options,
                                 std::chrono::seconds refresh_before, Clock clock)
    : m_env(std::move(env)),
      m_options(options),
      m_refresh_before(refresh_before),
      m_clock(clock ? std::move(clock) : Clock(&std::chrono::system_clock::now)) {}

base::Expected<Credentials> CredentialCache::get() {
  std::lock_guard lock(m_mutex);
  const auto now = m_clock();
  // now + window, not expiration - window: an expiration clamped to the clock's minimum must not
  // overflow.
  if (m_current && (!m_current->expiration || now + m_refresh_before < *m_current->expiration))
    return *m_current;
  auto fresh = resolve_credentials(m_env, m_options);
  if (fresh) {
    m_current = *fresh;
    return fresh;
  }
  // A failed early refresh keeps credentials that still work.
  if (m_current && m_current->expiration && now < *m_current->expiration) return *m_current;
  return fresh;
}

void CredentialCache::invalidate() {
  std::lock_guard lock(m_mutex);
  m_current.reset();
}

}  // namespace smrun::s3
