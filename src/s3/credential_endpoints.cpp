// Credentials served over HTTP: the container credentials endpoint (ECS, SageMaker, EKS Pod
// Identity) and EC2 instance metadata (IMDSv2), and the JSON both answer with.

#include <arpa/inet.h>
#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "credential_sources.hpp"
#include "smrun/base/sys_error.hpp"
#include "smrun/config/py_json.hpp"
#include "smrun/s3/credentials.hpp"
#include "smrun/s3/http.hpp"

namespace smrun::s3 {

namespace {

using base::ErrorKind;
using base::fail;

constexpr const char* kRelativeUriVar = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
constexpr const char* kFullUriVar = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
constexpr const char* kTokenVar = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
constexpr const char* kTokenFileVar = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
constexpr const char* kEcsAgentHost = "169.254.170.2";
constexpr const char* kImdsDefault = "http://169.254.169.254";
constexpr const char* kImdsDefaultIpv6 = "http://[fd00:ec2::254]";
constexpr const char* kImdsCredentialsPath = "/latest/meta-data/iam/security-credentials/";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Hosts a plain-http FULL_URI may name (the SDKs' rule): loopback, or the ECS agent and the EKS
// Pod Identity agent at their link-local addresses. Literal addresses only, apart from
// "localhost": no name is resolved to decide.
bool allowed_plain_http_host(const std::string& host) {
  if (iequals(host, "localhost")) return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    const std::uint32_t a = ntohl(v4.s_addr);
    return (a >> 24) == 127 || a == 0xA9FEAA02u /* 169.254.170.2 */ ||
           a == 0xA9FEAA17u /* 169.254.170.23 */;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    in6_addr eks{};
    inet_pton(AF_INET6, "fd00:ec2::23", &eks);
    return std::memcmp(&v6, &in6addr_loopback, sizeof v6) == 0 ||
           std::memcmp(&v6, &eks, sizeof v6) == 0;
  }
  return false;
}

std::string origin(const HttpUrl& url) {
  return url.scheme + "://" + url.authority();
}

// Days since 1970-01-01 of a proleptic Gregorian date (valid input only).
std::chrono::sys_days civil(int y, unsigned m, unsigned d) {
  return std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(m) / std::chrono::day(d));
}

bool read_digits(std::string_view& s, std::size_t n, int& out) {
  if (s.size() < n) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  s.remove_prefix(n);
  return true;
}

bool take(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

std::string trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

bool retryable(const TransportError& e) {
  return e.kind != TransportError::Kind::kTls && e.kind != TransportError::Kind::kBadUrl;
}

struct Fetched {
  std::optional<HttpResponse> response;  // nullopt: no HTTP answer (see `failure`)
  std::string failure;                   // "connection failed: ...", after the last attempt
};

// One request with retries: transport failures and 5xx/429 answers are retried after a short
// backoff (100 ms, 200 ms, ...); any other answer is returned as it is.
Fetched send_with_retries(HttpClient& client, const HttpRequest& request, int attempts) {
  Fetched out;
  for (int attempt = 1; attempt <= std::max(attempts, 1); ++attempt) {
    if (attempt > 1) std::this_thread::sleep_for(std::chrono::milliseconds(100 * (attempt - 1)));
    auto sent = client.send(request);
    if (sent) {
      out.response = std::move(*sent);
      if (out.response->status < 500 && out.response->status != 429) return out;
      continue;
    }
    out.response.reset();
    out.failure =
        fmt::format("{}: {}", transport_error_kind_name(sent.error().kind), sent.error().message);
    if (!retryable(sent.error())) return out;
  }
  return out;
}

HttpOptions endpoint_http_options(const EnvLookup& env, std::chrono::milliseconds timeout) {
  HttpOptions options;
  options.connect_timeout = timeout;
  options.io_timeout = timeout;
  if (auto bundle = find_ca_bundle([&env](const std::string& name) { return env(name); }))
    options.ca_bundle = *bundle;
  return options;
}

// The container endpoint's Authorization value: the token file's content (surrounding
// whitespace removed), else the variable. nullopt when neither is set.
base::Expected<std::optional<std::string>> container_authorization(const EnvLookup& env) {
  std::optional<std::string> token;
  if (auto path = detail::non_empty(env, kTokenFileVar)) {
    std::ifstream in(*path, std::ios::binary);
    std::ostringstream text;
    if (in) text << in.rdbuf();
    if (!in || in.bad())
      return fail(ErrorKind::kConfig, fmt::format("{} {}: cannot read the file: {}", kTokenFileVar,
                                                  *path, base::errno_text(errno)));
    token = trim(text.str());
  } else if (auto value = env(kTokenVar)) {
    token = trim(*value);
  }
  if (!token) return std::optional<std::string>();
  for (char c : *token)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return fail(ErrorKind::kConfig,
                  fmt::format("the container authorization token ({} or {}) contains a line "
                              "break or control character and cannot be sent as a header",
                              kTokenFileVar, kTokenVar));
  return token;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view s) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(s, 4, year) || !take(s, '-') || !read_digits(s, 2, month) || !take(s, '-') ||
      !read_digits(s, 2, day))
    return std::nullopt;
  if (!take(s, 'T') && !take(s, 't')) return std::nullopt;
  if (!read_digits(s, 2, hour) || !take(s, ':') || !read_digits(s, 2, minute) || !take(s, ':') ||
      !read_digits(s, 2, second))
    return std::nullopt;
  std::chrono::nanoseconds fraction{0};
  if (take(s, '.')) {
    std::int64_t scale = 100'000'000;
    std::size_t digits = 0;
    while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
      fraction += std::chrono::nanoseconds((s.front() - '0') * scale);
      scale /= 10;
      s.remove_prefix(1);
      ++digits;
    }
    if (digits == 0) return std::nullopt;
  }
  std::chrono::minutes offset{0};
  if (take(s, 'Z') || take(s, 'z')) {
  } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    const int sign = s.front() == '+' ? 1 : -1;
    s.remove_prefix(1);
    int oh = 0, om = 0;
    if (!read_digits(s, 2, oh)) return std::nullopt;
    take(s, ':');
    if (!read_digits(s, 2, om) || oh > 23 || om > 59) return std::nullopt;
    offset = std::chrono::minutes(sign * (oh * 60 + om));
  } else {
    return std::nullopt;
  }
  if (!s.empty()) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year(year),
                                         std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  const auto utc = civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) +
                   std::chrono::hours(hour) + std::chrono::minutes(minute) +
                   std::chrono::seconds(second) - offset;
  // system_clock counts nanoseconds in 64 bits (years 1677 to 2262): a time outside that is
  // clamped rather than overflowed (an expiration in 9999 just means "not soon").
  using Clock = std::chrono::system_clock;
  const auto limit = std::chrono::duration_cast<std::chrono::seconds>(Clock::duration::max()) -
                     std::chrono::seconds(1);
  const std::chrono::seconds since_epoch = utc.time_since_epoch();
  if (since_epoch >= limit) return Clock::time_point::max();
  if (since_epoch <= -limit) return Clock::time_point::min();
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(since_epoch) +
                           std::chrono::duration_cast<Clock::duration>(fraction));
}

base::Expected<Credentials> parse_credentials_json(std::string_view json,
                                                   const std::string& source) {
  // Python's json.loads, as botocore reads these documents (duplicate keys: the last wins).
  auto parsed = config::parse_py_json(json);
  if (!parsed) {
    // The parser's message may quote the text around the error, which may be a secret: only
    // the position.
    const config::JsonSyntaxError& e = parsed.error();
    if (!e.has_position)
      return fail(
          ErrorKind::kCode,
          fmt::format("{}: the response is not valid JSON (a number out of range)", source));
    return fail(ErrorKind::kCode,
                fmt::format("{}: the response is not valid JSON (error at character {})", source,
                            e.offset));
  }
  const config::PyValue& doc = *parsed;
  if (!doc.is_dict())
    return fail(ErrorKind::kCode, fmt::format("{}: the response is not a JSON object", source));
  if (const config::PyValue* code = doc.find("Code"); code != nullptr) {
    if (!code->is_str() || code->as_str() != "Success") {
      const std::string shown = code->is_str() ? code->as_str() : config::dump_py_json(*code);
      const bool printable = detail::is_header_safe_token(shown) && shown.size() <= 64;
      return fail(ErrorKind::kCode,
                  fmt::format("{}: the endpoint answered Code {} instead of Success", source,
                              printable ? shown : "(unprintable)"));
    }
  }
  const auto field = [&](const char* name, bool required) -> base::Expected<std::string> {
    const config::PyValue* it = doc.find(name);
    if (it == nullptr || it->is_none()) {
      if (required)
        return fail(ErrorKind::kCode, fmt::format("{}: the response has no \"{}\"", source, name));
      return std::string();
    }
    if (!it->is_str())
      return fail(ErrorKind::kCode,
                  fmt::format("{}: \"{}\" in the response is not a string", source, name));
    std::string value = it->as_str();
    if (required && value.empty())
      return fail(ErrorKind::kCode,
                  fmt::format("{}: \"{}\" in the response is empty", source, name));
    if (!value.empty() && !detail::is_header_safe_token(value))
      return fail(ErrorKind::kCode,
                  fmt::format("{}: \"{}\" in the response has characters that cannot be sent "
                              "(whitespace, control or non-ASCII)",
                              source, name));
    return value;
  };
  Credentials out;
  out.source = source;
  auto key = field("AccessKeyId", true);
  if (!key) return base::Unexpected(key.error());
  auto secret = field("SecretAccessKey", true);
  if (!secret) return base::Unexpected(secret.error());
  auto token = field("Token", false);
  if (!token) return base::Unexpected(token.error());
  out.keys = {std::move(*key), std::move(*secret), std::move(*token)};
  if (const config::PyValue* it = doc.find("Expiration"); it != nullptr && !it->is_none()) {
    std::optional<std::chrono::system_clock::time_point> when;
    if (it->is_str()) when = parse_iso8601(it->as_str());
    if (!when)
      return fail(ErrorKind::kCode,
                  fmt::format("{}: \"Expiration\" is not an ISO 8601 time such as "
                              "2019-05-29T00:21:43Z",
                              source));
    out.expiration = *when;
  }
  return out;
}

base::Expected<std::optional<ContainerEndpoint>> container_credentials_endpoint(
    const EnvLookup& env) {
  if (auto relative = detail::non_empty(env, kRelativeUriVar)) {
    ContainerEndpoint out;
    out.url =
        std::string("http://") + kEcsAgentHost + (relative->front() == '/' ? "" : "/") + *relative;
    out.display = fmt::format("http://{} ({})", kEcsAgentHost, kRelativeUriVar);
    return std::optional<ContainerEndpoint>(std::move(out));
  }
  auto full = detail::non_empty(env, kFullUriVar);
  if (!full) return std::optional<ContainerEndpoint>();
  // parse_http_url's message quotes the URL, whose path may identify the credentials.
  auto url = parse_http_url(*full);
  if (!url)
    return fail(ErrorKind::kConfig,
                fmt::format("{} is not an http(s)://host[:port]/path URL", kFullUriVar));
  if (!url->tls() && !allowed_plain_http_host(url->host))
    return fail(ErrorKind::kConfig,
                fmt::format("{}: host '{}' is not allowed over plain http (use https, or a "
                            "loopback address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23)",
                            kFullUriVar, url->host));
  ContainerEndpoint out;
  out.url = url->str();
  out.display = fmt::format("{} ({})", origin(*url), kFullUriVar);
  return std::optional<ContainerEndpoint>(std::move(out));
}

namespace detail {

base::Expected<detail::SourceResult> from_container(const EnvLookup& env,
                                                    const CredentialOptions& options) {
  auto endpoint = container_credentials_endpoint(env);
  if (!endpoint) return base::Unexpected(endpoint.error());
  SourceResult out;
  if (!*endpoint) {
    out.tried.push_back(
        fmt::format("container credentials ({} and {} not set)", kRelativeUriVar, kFullUriVar));
    return out;
  }
  const std::string source = "container credentials endpoint " + (*endpoint)->display;
  auto authorization = container_authorization(env);
  if (!authorization) return base::Unexpected(authorization.error());
  auto url = parse_http_url((*endpoint)->url);
  if (!url) return fail(ErrorKind::kConfig, source + ": not a valid URL");

  HttpClient client(endpoint_http_options(env, options.endpoint_timeout));
  HttpRequest request;
  request.method = "GET";
  request.url = *url;
  request.headers.emplace_back("Accept", "application/json");
  if (*authorization) request.headers.emplace_back("Authorization", **authorization);
  const Fetched fetched = send_with_retries(client, request, options.endpoint_attempts);
  if (!fetched.response)
    return fail(ErrorKind::kCode, fmt::format("{}: {}", source, fetched.failure));
  if (fetched.response->status != 200)
    return fail(ErrorKind::kCode,
                fmt::format("{}: HTTP {}{}", source, fetched.response->status,
                            fetched.response->status == 401 || fetched.response->status == 403
                                ? fmt::format(" (check {} / {})", kTokenFileVar, kTokenVar)
                                : std::string()));
  auto credentials = parse_credentials_json(fetched.response->body, source);
  if (!credentials) return base::Unexpected(credentials.error());
  out.credentials = std::move(*credentials);
  return out;
}

bool instance_metadata_disabled(const EnvLookup& env) {
  auto value = env("AWS_EC2_METADATA_DISABLED");
  return value && iequals(trim(*value), "true");
}

base::Expected<std::string> instance_metadata_endpoint(const EnvLookup& env) {
  if (auto endpoint = non_empty(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT")) {
    auto url = parse_http_url(*endpoint);
    if (!url)
      return fail(ErrorKind::kConfig,
                  fmt::format("AWS_EC2_METADATA_SERVICE_ENDPOINT: {}", url.error().message));
    return origin(*url);
  }
  if (auto mode = non_empty(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")) {
    if (iequals(*mode, "ipv6")) return std::string(kImdsDefaultIpv6);
    if (!iequals(*mode, "ipv4"))
      return fail(ErrorKind::kConfig,
                  fmt::format("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE is '{}' (expected IPv4 or "
                              "IPv6)",
                              *mode));
  }
  return std::string(kImdsDefault);
}

base::Expected<SourceResult> from_instance_metadata(const EnvLookup& env,
                                                    const CredentialOptions& options) {
  SourceResult out;
  if (instance_metadata_disabled(env)) {
    out.tried.push_back("EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)");
    return out;
  }
  auto endpoint = instance_metadata_endpoint(env);
  if (!endpoint) return base::Unexpected(endpoint.error());
  std::chrono::milliseconds timeout = options.imds_timeout;
  if (auto text = non_empty(env, "AWS_METADATA_SERVICE_TIMEOUT")) {
    double seconds = 0;
    auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), seconds);
    if (ec != std::errc() || ptr != text->data() + text->size() || !(seconds > 0) || seconds > 3600)
      return fail(ErrorKind::kConfig,
                  fmt::format("AWS_METADATA_SERVICE_TIMEOUT is '{}' (expected seconds, more "
                              "than 0 and at most 3600)",
                              *text));
    timeout = std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
  }
  int attempts = options.imds_attempts;
  if (auto text = non_empty(env, "AWS_METADATA_SERVICE_NUM_ATTEMPTS")) {
    auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), attempts);
    if (ec != std::errc() || ptr != text->data() + text->size() || attempts < 1 || attempts > 20)
      return fail(
          ErrorKind::kConfig,
          fmt::format("AWS_METADATA_SERVICE_NUM_ATTEMPTS is '{}' (expected 1 to 20)", *text));
  }

  const std::string where = "EC2 instance metadata " + *endpoint;
  // Every failure below means "no credentials here", as in the SDKs: the reason is kept for the
  // final message.
  const auto unavailable = [&](const std::string& why) {
    out.tried.push_back(fmt::format("{} ({})", where, why));
    return out;
  };
  HttpClient client(endpoint_http_options(env, timeout));
  const auto request = [&](const std::string& method, const std::string& path,
                           HttpHeaders headers) {
    HttpRequest r;
    r.method = method;
    r.url = *parse_http_url(*endpoint + path);
    r.headers = std::move(headers);
    return send_with_retries(client, r, attempts);
  };

  Fetched token =
      request("PUT", "/latest/api/token", {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}});
  if (!token.response) return unavailable("token request: " + token.failure);
  if (token.response->status != 200)
    return unavailable(fmt::format("token request: HTTP {}", token.response->status));
  const std::string session = trim(token.response->body);
  if (session.empty() || !is_header_safe_token(session))
    return unavailable("token request: the token is empty or not printable");
  const HttpHeaders with_token = {{"X-aws-ec2-metadata-token", session}};

  Fetched roles = request("GET", kImdsCredentialsPath, with_token);
  if (!roles.response) return unavailable("role request: " + roles.failure);
  if (roles.response->status == 404) return unavailable("no IAM role attached to the instance");
  if (roles.response->status != 200)
    return unavailable(fmt::format("role request: HTTP {}", roles.response->status));
  std::string role = roles.response->body.substr(0, roles.response->body.find('\n'));
  role = trim(role);
  if (role.empty()) return unavailable("no IAM role attached to the instance");
  for (char c : role)
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::strchr("+=,.@_-", c) == nullptr)
      return unavailable("the role name has characters IAM does not allow");

  Fetched document = request("GET", kImdsCredentialsPath + role, with_token);
  if (!document.response) return unavailable("role " + role + ": " + document.failure);
  if (document.response->status != 200)
    return unavailable(fmt::format("role {}: HTTP {}", role, document.response->status));
  auto credentials = parse_credentials_json(document.response->body, "role " + role);
  if (!credentials) return unavailable(credentials.error().message);
  credentials->source = "EC2 instance metadata (role " + role + ")";
  out.credentials = std::move(*credentials);
  return out;
}

}  // namespace detail

}  // namespace smrun::s3
