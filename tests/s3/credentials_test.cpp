// The credential chain: environment, container credentials endpoint and IMDSv2 (against
// tests/s3/credential_server.py on 127.0.0.1), the "none found" message, the refreshing cache,
// and secrets never reaching a message.
//
// No test may send anything to 169.254.x.x: every environment here is a plain map that either
// disables IMDS (AWS_EC2_METADATA_DISABLED=true) or points it at a loopback stand-in, and the
// RELATIVE_URI form (which means http://169.254.170.2) is only ever turned into a URL, never
// resolved.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

#include "smrun/s3/credentials.hpp"
#include "smrun/s3/http.hpp"
#include "stand_in_server.hpp"
#include "support/test_support.hpp"

namespace smrun::s3 {
namespace {

using namespace std::chrono;
using Env = std::map<std::string, std::string, std::less<>>;
using test::StandInServer;

constexpr const char* kNoneTried =
    "no AWS credentials found; tried environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
    "not set); shared credentials file /nonexistent-home/.aws/credentials (not found); shared "
    "config file /nonexistent-home/.aws/config (not found); container credentials "
    "(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI not set); ";

// Values no message, source or log line may contain.
void expect_no_secrets(const std::string& text) {
  for (const char* secret : {"stand-in-secret", "stand-in-token", "envsecret", "envtoken",
                             "container-auth-token", "imds-session-token"})
    EXPECT_EQ(text.find(secret), std::string::npos) << "'" << secret << "' leaked in: " << text;
}

Env offline() {
  return {{"HOME", "/nonexistent-home"}, {"AWS_EC2_METADATA_DISABLED", "true"}};
}

std::string error_of(const Env& vars, const CredentialOptions& options = {}) {
  auto r = resolve_credentials(env_from_map(vars), options);
  EXPECT_FALSE(r.has_value()) << "resolved from " << (r ? r->source : "");
  if (r) return "";
  expect_no_secrets(r.error().message);
  return r.error().message;
}

system_clock::time_point at(const std::string& iso) {
  return *parse_iso8601(iso);
}

// ---------------------------------------------------------------------------------------------
// Environment.

TEST(CredentialChain, EnvironmentKeys) {
  Env vars = offline();
  vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  vars["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  vars["AWS_SESSION_TOKEN"] = "envtoken";
  auto c = resolve_credentials(env_from_map(vars));
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->keys.access_key_id, "AKIDENV");
  EXPECT_EQ(c->keys.secret_access_key, "envsecret");
  EXPECT_EQ(c->keys.session_token, "envtoken");
  EXPECT_EQ(c->source, "environment");
  EXPECT_FALSE(c->expiration.has_value());
  EXPECT_EQ(describe_credential_source(env_from_map(vars)), "environment");
}

TEST(CredentialChain, EnvironmentHalfPairAndUnsendableValuesAreErrors) {
  Env vars = offline();
  vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  EXPECT_EQ(error_of(vars),
            "environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not (set both or "
            "neither)");
  EXPECT_EQ(describe_credential_source(env_from_map(vars)),
            "error: environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not (set "
            "both or neither)");
  vars.erase("AWS_ACCESS_KEY_ID");
  vars["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  EXPECT_EQ(error_of(vars),
            "environment: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not (set both or "
            "neither)");
  vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  vars["AWS_SECRET_ACCESS_KEY"] = "envsecret\n";
  EXPECT_EQ(error_of(vars),
            "environment: AWS_SECRET_ACCESS_KEY has characters that cannot be sent (whitespace, "
            "control or non-ASCII)");
}

TEST(CredentialChain, EmptyEnvironmentValuesCountAsUnset) {
  Env vars = offline();
  vars["AWS_ACCESS_KEY_ID"] = "";
  vars["AWS_SECRET_ACCESS_KEY"] = "";
  vars["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "";
  vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "";
  EXPECT_EQ(error_of(vars), std::string(kNoneTried) +
                                "EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)");
}

TEST(CredentialChain, NothingAnywhereListsEverySourceTried) {
  EXPECT_EQ(error_of(offline()),
            "no AWS credentials found; tried environment (AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY not set); shared credentials file "
            "/nonexistent-home/.aws/credentials (not found); shared config file "
            "/nonexistent-home/.aws/config (not found); container credentials "
            "(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI not "
            "set); EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)");
  auto r = resolve_credentials(env_from_map(offline()));
  EXPECT_EQ(r.error().kind, base::ErrorKind::kCode);
  EXPECT_EQ(describe_credential_source(env_from_map(offline())),
            "none: tried environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set); "
            "shared credentials file /nonexistent-home/.aws/credentials (not found); shared "
            "config file /nonexistent-home/.aws/config (not found); container credentials "
            "(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI not "
            "set); EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)");
}

// ---------------------------------------------------------------------------------------------
// Container credentials: where the URL points (pure), and the HTTP exchange (stand-in).

TEST(ContainerEndpoint, RelativeUriIsTheEcsAgentAndIsOnlyBuiltNeverContacted) {
  Env vars = offline();
  vars["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/0f0e-uuid";
  auto e = container_credentials_endpoint(env_from_map(vars));
  ASSERT_TRUE(e.has_value()) << e.error().message;
  ASSERT_TRUE(e->has_value());
  EXPECT_EQ((*e)->url, "http://169.254.170.2/v2/credentials/0f0e-uuid");
  EXPECT_EQ((*e)->display, "http://169.254.170.2 (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)");
  // describe_credential_source names it without contacting it (and without the path).
  EXPECT_EQ(describe_credential_source(env_from_map(vars)),
            "container credentials endpoint http://169.254.170.2 "
            "(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)");

  vars["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "v2/credentials/x?a=b";
  vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:1/ignored";  // RELATIVE wins
  e = container_credentials_endpoint(env_from_map(vars));
  ASSERT_TRUE(e.has_value() && e->has_value());
  EXPECT_EQ((*e)->url, "http://169.254.170.2/v2/credentials/x?a=b");

  Env none = offline();
  e = container_credentials_endpoint(env_from_map(none));
  ASSERT_TRUE(e.has_value());
  EXPECT_FALSE(e->has_value());
}

TEST(ContainerEndpoint, FullUriMustBeHttpsOrAnAllowedHost) {
  for (const std::string url :
       {"http://127.0.0.1:8080/creds", "http://127.1.2.3/creds", "http://localhost:9/x",
        "http://LOCALHOST/x", "http://[::1]:80/x", "http://[0:0:0:0:0:0:0:1]/x",
        "http://169.254.170.2/v1/x", "http://169.254.170.23/v1/credentials",
        "http://[fd00:ec2::23]/v1/credentials", "https://creds.example.com/x",
        "https://10.0.0.1/x"}) {
    Env vars = offline();
    vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = url;
    auto e = container_credentials_endpoint(env_from_map(vars));
    ASSERT_TRUE(e.has_value()) << url << ": " << e.error().message;
    ASSERT_TRUE(e->has_value()) << url;
  }
  for (const std::string url :
       {"http://creds.example.com/x", "http://169.254.169.254/latest", "http://10.0.0.1/x",
        "http://169.254.170.3/x", "http://[fd00:ec2::24]/x", "http://127.0.0.1.example.com/x",
        "http://0.0.0.0/x"}) {
    Env vars = offline();
    vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = url;
    auto e = container_credentials_endpoint(env_from_map(vars));
    ASSERT_FALSE(e.has_value()) << url;
    EXPECT_EQ(e.error().kind, base::ErrorKind::kConfig);
    EXPECT_NE(e.error().message.find("is not allowed over plain http"), std::string::npos)
        << e.error().message;
  }
  Env vars = offline();
  vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://evil.example.com/steal";
  EXPECT_EQ(error_of(vars),
            "AWS_CONTAINER_CREDENTIALS_FULL_URI: host 'evil.example.com' is not allowed over "
            "plain http (use https, or a loopback address, 169.254.170.2, 169.254.170.23 or "
            "fd00:ec2::23)");
  vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "ftp://127.0.0.1/x";
  EXPECT_EQ(error_of(vars),
            "AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s)://host[:port]/path URL");
}

TEST(ContainerCredentials, FullUriWithAuthorizationToken) {
  StandInServer server(
      {"container", "--token", "container-auth-token", "--expiration", "2040-02-03T04:05:06Z"});
  Env vars = offline();
  vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url() + "/v1/credentials?id=7";
  vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "container-auth-token";
  auto c = resolve_credentials(env_from_map(vars));
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->keys.access_key_id, "STANDINKEY1");
  EXPECT_EQ(c->keys.secret_access_key, "stand-in-secret-1");
  EXPECT_EQ(c->keys.session_token, "stand-in-token-1");
  ASSERT_TRUE(c->expiration.has_value());
  EXPECT_EQ(*c->expiration, at("2040-02-03T04:05:06Z"));
  EXPECT_EQ(c->source, "container credentials endpoint " + server.url() +
                           " (AWS_CONTAINER_CREDENTIALS_FULL_URI)");
  expect_no_secrets(c->source);

  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["method"], "GET");
  EXPECT_EQ(seen[0]["path"], "/v1/credentials?id=7");
  EXPECT_EQ(seen[0]["headers"]["Authorization"], "container-auth-token");
  EXPECT_EQ(seen[0]["headers"]["Accept"], "application/json");
}

TEST(ContainerCredentials, TokenFileWinsOverTheVariableAndIsTrimmed) {
  StandInServer server({"container", "--token", "container-auth-token"});
  smrun::test::TempDir dir;
  smrun::test::write_file(dir / "token", "container-auth-token\n");
  Env vars = offline();
  vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url() + "/v1/credentials";
  vars["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = (dir / "token").string();
  vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "not-this-one";
  auto c = resolve_credentials(env_from_map(vars));
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->keys.access_key_id, "STANDINKEY1");

  vars["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = (dir / "missing").string();
  EXPECT_EQ(error_of(vars), "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " + (dir / "missing").string() +
                                ": cannot read the file: No such file or directory");
  vars.erase("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "container-auth-token\r\nX-Injected: 1";
  EXPECT_EQ(error_of(vars),
            "the container authorization token (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or "
            "AWS_CONTAINER_AUTHORIZATION_TOKEN) contains a line break or control character and "
            "cannot be sent as a header");
  EXPECT_EQ(server.requests().size(), 1u);  // neither bad token was sent
}

TEST(ContainerCredentials, AConfiguredEndpointThatFailsIsAnErrorNotAFallThrough) {
  StandInServer server({"container", "--token", "container-auth-token"});
  Env vars = offline();
  vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url() + "/creds";
  vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrong";
  const std::string source =
      "container credentials endpoint " + server.url() + " (AWS_CONTAINER_CREDENTIALS_FULL_URI)";
  EXPECT_EQ(error_of(vars), source +
                                ": HTTP 401 (check AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE / "
                                "AWS_CONTAINER_AUTHORIZATION_TOKEN)");
  EXPECT_EQ(server.requests().size(), 1u);  // a 4xx is not retried

  vars.erase("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  const std::uint16_t closed = test::closed_loopback_port();
  vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:" + std::to_string(closed) + "/c";
  CredentialOptions quick;
  quick.endpoint_attempts = 2;
  const std::string down = error_of(vars, quick);
  EXPECT_EQ(down.rfind("container credentials endpoint http://127.0.0.1:" + std::to_string(closed) +
                           " (AWS_CONTAINER_CREDENTIALS_FULL_URI): ",
                       0),
            0u)
      << down;
  EXPECT_EQ(describe_credential_source(env_from_map(vars)),
            "container credentials endpoint http://127.0.0.1:" + std::to_string(closed) +
                " (AWS_CONTAINER_CREDENTIALS_FULL_URI)");
}

TEST(ContainerCredentials, ServerErrorsAreRetried) {
  StandInServer server({"container", "--fail-first", "2"});
  Env vars = offline();
  vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url() + "/creds";
  auto c = resolve_credentials(env_from_map(vars));  // 3 attempts by default
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(server.requests().size(), 3u);

  StandInServer always({"container", "--status", "503"});
  vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = always.url() + "/creds";
  CredentialOptions two;
  two.endpoint_attempts = 2;
  EXPECT_EQ(error_of(vars, two), "container credentials endpoint " + always.url() +
                                     " (AWS_CONTAINER_CREDENTIALS_FULL_URI): HTTP 503");
  EXPECT_EQ(always.requests().size(), 2u);
}

TEST(ContainerCredentials, MalformedDocumentsNeverQuoteTheSecret) {
  const std::string source_prefix = "container credentials endpoint ";
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {R"({"AccessKeyId": "K", "SecretAccessKey": "stand-in-secret-9", )",
       "the response is not valid JSON (error at character 61)"},
      {R"({"AccessKeyId": "K", "Token": "stand-in-token-9"})",
       "the response has no \"SecretAccessKey\""},
      {R"({"AccessKeyId": "K", "SecretAccessKey": "stand-in-secret 9"})",
       "\"SecretAccessKey\" in the response has characters that cannot be sent (whitespace, "
       "control or non-ASCII)"},
      {R"({"AccessKeyId": "K", "SecretAccessKey": 12})",
       "\"SecretAccessKey\" in the response is not a string"},
      {R"({"AccessKeyId": "K", "SecretAccessKey": "stand-in-secret-9", "Expiration": "soon"})",
       "\"Expiration\" is not an ISO 8601 time such as 2019-05-29T00:21:43Z"},
      {R"(["stand-in-secret-9"])", "the response is not a JSON object"},
  };
  for (const auto& [body, why] : bodies) {
    StandInServer server({"container", "--body", body});
    Env vars = offline();
    vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url() + "/creds";
    EXPECT_EQ(error_of(vars),
              source_prefix + server.url() + " (AWS_CONTAINER_CREDENTIALS_FULL_URI): " + why);
  }
}

// ---------------------------------------------------------------------------------------------
// EC2 instance metadata (IMDSv2), only ever on a loopback stand-in.

TEST(InstanceMetadata, TheStandInRefusesRequestsWithoutTheSessionToken) {
  StandInServer server({"imds"});
  HttpClient client;
  HttpRequest request;
  request.url = *parse_http_url(server.url() + "/latest/meta-data/iam/security-credentials/");
  auto response = client.send(request);
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->status, 401);
}

TEST(InstanceMetadata, TokenThenRoleThenCredentials) {
  StandInServer server({"imds", "--expiration", "2041-06-07T08:09:10.500Z"});
  Env vars = {{"HOME", "/nonexistent-home"}, {"AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url()}};
  auto c = resolve_credentials(env_from_map(vars));
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->keys.access_key_id, "STANDINKEY1");
  EXPECT_EQ(c->keys.session_token, "stand-in-token-1");
  EXPECT_EQ(c->source, "EC2 instance metadata (role stand-in-role)");
  EXPECT_EQ(*c->expiration, at("2041-06-07T08:09:10Z") + milliseconds(500));

  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0]["method"], "PUT");
  EXPECT_EQ(seen[0]["path"], "/latest/api/token");
  EXPECT_EQ(seen[0]["headers"]["X-aws-ec2-metadata-token-ttl-seconds"], "21600");
  EXPECT_EQ(seen[1]["method"], "GET");
  EXPECT_EQ(seen[1]["path"], "/latest/meta-data/iam/security-credentials/");
  EXPECT_EQ(seen[1]["headers"]["X-aws-ec2-metadata-token"], "imds-session-token-0123456789");
  EXPECT_EQ(seen[2]["path"], "/latest/meta-data/iam/security-credentials/stand-in-role");
  EXPECT_EQ(seen[2]["headers"]["X-aws-ec2-metadata-token"], "imds-session-token-0123456789");

  EXPECT_EQ(describe_credential_source(env_from_map(vars)),
            "EC2 instance metadata " + server.url() + ", if this is an EC2 instance with a role");
}

TEST(InstanceMetadata, DisabledMeansNotContacted) {
  StandInServer server({"imds"});
  for (const char* value : {"true", "TRUE", "True"}) {
    Env vars = {{"HOME", "/nonexistent-home"},
                {"AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url()},
                {"AWS_EC2_METADATA_DISABLED", value}};
    EXPECT_EQ(error_of(vars), std::string(kNoneTried) +
                                  "EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)");
  }
  EXPECT_EQ(server.requests().size(), 0u);
}

TEST(InstanceMetadata, UnreachableOrFailingMeansNoCredentialsThere) {
  const std::string closed = "http://127.0.0.1:" + std::to_string(test::closed_loopback_port());
  Env vars = {{"HOME", "/nonexistent-home"}, {"AWS_EC2_METADATA_SERVICE_ENDPOINT", closed}};
  const std::string down = error_of(vars);
  EXPECT_EQ(
      down.rfind(std::string(kNoneTried) + "EC2 instance metadata " + closed + " (token request: ",
                 0),
      0u)
      << down;

  StandInServer failing({"imds", "--status", "500"});
  vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = failing.url() + "/";
  EXPECT_EQ(error_of(vars), std::string(kNoneTried) + "EC2 instance metadata " + failing.url() +
                                " (role stand-in-role: HTTP 500)");

  StandInServer bad({"imds", "--body", R"({"Code": "AssumeRoleUnauthorizedAccess"})"});
  vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = bad.url();
  EXPECT_EQ(error_of(vars), std::string(kNoneTried) + "EC2 instance metadata " + bad.url() +
                                " (role stand-in-role: the endpoint answered Code "
                                "AssumeRoleUnauthorizedAccess instead of Success)");
}

TEST(InstanceMetadata, SettingsAreValidated) {
  Env vars = offline();
  vars.erase("AWS_EC2_METADATA_DISABLED");
  vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:1";
  vars["AWS_METADATA_SERVICE_TIMEOUT"] = "soon";
  EXPECT_EQ(error_of(vars),
            "AWS_METADATA_SERVICE_TIMEOUT is 'soon' (expected seconds, more than 0 and at most "
            "3600)");
  vars.erase("AWS_METADATA_SERVICE_TIMEOUT");
  vars["AWS_METADATA_SERVICE_NUM_ATTEMPTS"] = "0";
  EXPECT_EQ(error_of(vars), "AWS_METADATA_SERVICE_NUM_ATTEMPTS is '0' (expected 1 to 20)");
  vars.erase("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  vars.erase("AWS_METADATA_SERVICE_NUM_ATTEMPTS");
  vars["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"] = "IPv5";
  EXPECT_EQ(error_of(vars),
            "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE is 'IPv5' (expected IPv4 or IPv6)");
  // The default endpoints are only named, never contacted, by describe_credential_source.
  vars["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"] = "IPv6";
  EXPECT_EQ(describe_credential_source(env_from_map(vars)),
            "EC2 instance metadata http://[fd00:ec2::254], if this is an EC2 instance with a "
            "role");
  vars.erase("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
  EXPECT_EQ(describe_credential_source(env_from_map(vars)),
            "EC2 instance metadata http://169.254.169.254, if this is an EC2 instance with a role");
}

// ---------------------------------------------------------------------------------------------
// The refreshing cache, on an injected clock.

struct FakeClock {
  system_clock::time_point now;
  CredentialCache::Clock fn() {
    return [this] { return now; };
  }
};

TEST(CredentialCacheRefresh, RefreshesOnlyWithinTheWindowBeforeExpiry) {
  StandInServer server({"container", "--expiration", "2040-01-01T00:00:00Z"});
  Env vars = offline();
  vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url() + "/creds";
  const auto expiry = at("2040-01-01T00:00:00Z");
  FakeClock clock{expiry - hours(1)};
  CredentialCache cache(env_from_map(vars), {}, minutes(5), clock.fn());

  auto first = cache.get();
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_EQ(first->keys.access_key_id, "STANDINKEY1");
  clock.now = expiry - minutes(5) - seconds(1);  // just outside the window: kept
  EXPECT_EQ(cache.get()->keys.access_key_id, "STANDINKEY1");
  EXPECT_EQ(server.requests().size(), 1u);

  clock.now = expiry - minutes(5);  // inside the window: refreshed
  auto second = cache.get();
  ASSERT_TRUE(second.has_value()) << second.error().message;
  EXPECT_EQ(second->keys.access_key_id, "STANDINKEY2");
  EXPECT_EQ(second->keys.secret_access_key, "stand-in-secret-2");
  EXPECT_EQ(server.requests().size(), 2u);

  cache.invalidate();  // after S3 said ExpiredToken
  clock.now = expiry - hours(2);
  EXPECT_EQ(cache.get()->keys.access_key_id, "STANDINKEY3");
  EXPECT_EQ(cache.get()->keys.access_key_id, "STANDINKEY3");
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(CredentialCacheRefresh, AFailedRefreshKeepsCredentialsUntilTheyExpire) {
  StandInServer server({"container", "--expiration", "2040-01-01T00:00:00Z", "--fail-after", "1"});
  Env vars = offline();
  vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url() + "/creds";
  const auto expiry = at("2040-01-01T00:00:00Z");
  FakeClock clock{expiry - minutes(1)};
  CredentialOptions one;
  one.endpoint_attempts = 1;
  CredentialCache cache(env_from_map(vars), one, minutes(5), clock.fn());
  ASSERT_EQ(cache.get()->keys.access_key_id, "STANDINKEY1");  // already inside the window
  auto kept = cache.get();  // refresh fails (HTTP 500): still valid, kept
  ASSERT_TRUE(kept.has_value()) << kept.error().message;
  EXPECT_EQ(kept->keys.access_key_id, "STANDINKEY1");
  EXPECT_EQ(server.requests().size(), 2u);

  clock.now = expiry;  // expired, and the refresh fails: an error
  auto expired = cache.get();
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(expired.error().message, "container credentials endpoint " + server.url() +
                                         " (AWS_CONTAINER_CREDENTIALS_FULL_URI): HTTP 500");
  expect_no_secrets(expired.error().message);
}

TEST(CredentialCacheRefresh, LongTermKeysAreNeverRefreshed) {
  Env vars = offline();
  vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  vars["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  FakeClock clock{system_clock::time_point{}};
  CredentialCache cache(env_from_map(vars), {}, minutes(5), clock.fn());
  EXPECT_EQ(cache.get()->source, "environment");
  clock.now = at("2200-01-01T00:00:00Z");
  EXPECT_EQ(cache.get()->keys.access_key_id, "AKIDENV");
}

// ---------------------------------------------------------------------------------------------
// Parsing pieces.

TEST(CredentialsJson, FieldsTokenOptionalAndExpirationFormats) {
  auto c = parse_credentials_json(
      R"({"AccessKeyId": "AKID", "SecretAccessKey": "s", "Expiration": "2019-05-29T00:21:43Z"})",
      "src");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->keys.session_token, "");
  EXPECT_EQ(c->source, "src");
  EXPECT_EQ(*c->expiration, sys_days(year(2019) / 5 / 29) + hours(0) + minutes(21) + seconds(43));
  c = parse_credentials_json(R"({"AccessKeyId": "A", "SecretAccessKey": "s", "Token": null})", "s");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_FALSE(c->expiration.has_value());
  EXPECT_EQ(parse_credentials_json(R"({"AccessKeyId": "", "SecretAccessKey": "s"})", "src")
                .error()
                .message,
            "src: \"AccessKeyId\" in the response is empty");
}

// Found by fuzz_credentials_json when the documents were read with nlohmann::json (it threw
// out_of_range for a number beyond a double). They are now read as botocore reads them, with
// Python's json.loads: such a number is infinity, and only an int of more than 4300 digits (a
// ValueError in Python) makes the document invalid.
TEST(CredentialsJson, NumbersAreReadAsPythonReadsThem) {
  auto scalar = parse_credentials_json("1e400", "src");
  ASSERT_FALSE(scalar.has_value());
  EXPECT_EQ(scalar.error().message, "src: the response is not a JSON object");
  auto big = parse_credentials_json(
      R"({"AccessKeyId": "A", "SecretAccessKey": "stand-in-secret-1", "X": -1e999})", "src");
  ASSERT_TRUE(big.has_value()) << big.error().message;
  EXPECT_EQ(big->keys.secret_access_key, "stand-in-secret-1");
  auto digits = parse_credentials_json("{\"X\": " + std::string(4301, '7') + "}", "src");
  ASSERT_FALSE(digits.has_value());
  EXPECT_EQ(digits.error().message, "src: the response is not valid JSON (a number out of range)");
}

// Duplicate keys: the last one wins, as in Python (and botocore).
TEST(CredentialsJson, TheLastOfDuplicateKeysWins) {
  auto c = parse_credentials_json(
      R"({"AccessKeyId": "A", "SecretAccessKey": "first-secret", "SecretAccessKey": "second-secret"})",
      "src");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->keys.secret_access_key, "second-secret");
}

TEST(CredentialsJson, Iso8601) {
  EXPECT_EQ(at("2019-05-29T00:21:43+02:00"), at("2019-05-28T22:21:43Z"));
  EXPECT_EQ(at("2019-05-29T00:21:43-0130"), at("2019-05-29T01:51:43Z"));
  EXPECT_EQ(at("2020-02-29T23:59:59.999999999Z"), at("2020-03-01T00:00:00Z") - nanoseconds(1));
  EXPECT_EQ(at("1970-01-01T00:00:00Z"), system_clock::time_point{});
  // Beyond what system_clock holds (1677 to 2262): clamped, not overflowed.
  EXPECT_EQ(at("9999-12-31T23:59:59Z"), system_clock::time_point::max());
  EXPECT_EQ(at("0000-01-01T00:00:00+23:59"), system_clock::time_point::min());
  EXPECT_EQ(at("2262-01-01T00:00:00Z"), sys_days(year(2262) / 1 / 1));
  for (std::string_view bad :
       {"", "2019-05-29", "2019-05-29T00:21:43", "2019-02-30T00:00:00Z", "2019-13-01T00:00:00Z",
        "2019-05-29T24:00:00Z", "2019-05-29T00:21:43.Z", "2019-05-29T00:21:43Zjunk",
        "19-05-29T00:21:43Z", "2019-05-29T00:21:43+25:00"})
    EXPECT_FALSE(parse_iso8601(bad).has_value()) << bad;
}

}  // namespace
}  // namespace smrun::s3
