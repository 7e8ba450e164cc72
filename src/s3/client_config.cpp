#include "smrun/s3/client_config.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

#include "smrun/s3/sigv4.hpp"

namespace smrun::s3 {

namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool is_aws_host(std::string_view host) {
  return ends_with(host, ".amazonaws.com") || ends_with(host, ".amazonaws.com.cn");
}

// Usable as a DNS label under a TLS wildcard certificate (*.s3.region.amazonaws.com).
bool virtual_host_safe(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  if (bucket.front() == '-' || bucket.back() == '-') return false;
  for (char c : bucket)
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-'))
      return false;
  return true;
}

}  // namespace

TransferSettings transfer_settings(const settings::Settings& settings) {
  TransferSettings s;
  s.retry.max_attempts = settings.s3_max_attempts;
  s.retry.total = settings.s3_retry;
  s.timeout = settings.s3_timeout;
  s.concurrency = settings.s3_concurrency;
  s.part_size = static_cast<std::uint64_t>(settings.s3_part_size_mb) << 20;
  s.progress_interval = settings.s3_progress;
  return s;
}

base::Expected<ClientConfig> resolve_client_config(const EnvLookup& env,
                                                   const std::string& sagemaker_region,
                                                   const TransferSettings& transfer) {
  ClientConfig config;
  config.transfer = transfer;

  const auto non_empty = [&](const char* name) -> std::optional<std::string> {
    auto v = env(name);
    if (v && !v->empty()) return v;
    return std::nullopt;
  };
  if (auto r = non_empty("AWS_REGION")) {
    config.region = *r;
    config.region_source = "AWS_REGION";
  } else if (!sagemaker_region.empty()) {
    config.region = sagemaker_region;
    config.region_source = "sagemaker_region";
  } else if (auto sr = non_empty("SAGEMAKER_REGION")) {
    config.region = *sr;
    config.region_source = "SAGEMAKER_REGION";
  } else if (auto dr = non_empty("AWS_DEFAULT_REGION")) {
    config.region = *dr;
    config.region_source = "AWS_DEFAULT_REGION";
  } else {
    config.region = "us-east-1";
    config.region_source = "default (corrected from S3's answer if the bucket is elsewhere)";
  }
  for (char c : config.region)
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-'))
      return base::fail(base::ErrorKind::kConfig,
                        fmt::format("{}='{}': expected an AWS region such as us-west-2",
                                    config.region_source, config.region));

  for (const char* name : {"S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}) {
    auto value = non_empty(name);
    if (!value) continue;
    auto url = parse_http_url(*value);
    if (!url)
      return base::fail(base::ErrorKind::kConfig, fmt::format("{}: {}", name, url.error().message));
    if (url->target.find('?') != std::string::npos)
      return base::fail(base::ErrorKind::kConfig,
                        fmt::format("{}='{}': an endpoint URL cannot have a query", name, *value));
    config.endpoint = *url;
    config.endpoint_source = name;
    break;
  }
  if (auto bundle = find_ca_bundle(env)) config.ca_bundle = *bundle;
  return config;
}

RequestAddress address_for(const ClientConfig& config, const std::string& region,
                           const std::string& bucket, const std::string& key) {
  RequestAddress out;
  const std::string encoded_key = uri_encode(key, /*encode_slash=*/false);
  std::string prefix;  // a custom endpoint's own path ("/s3" in https://proxy/s3)
  if (config.endpoint) {
    out.url = *config.endpoint;
    prefix = out.url.target;
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  } else {
    out.url.scheme = "https";
    out.url.port = 443;
    const bool china = region.rfind("cn-", 0) == 0;
    out.url.host = fmt::format("s3.{}.amazonaws.com{}", region, china ? ".cn" : "");
  }
  const bool virtual_host =
      (!config.endpoint || is_aws_host(out.url.host)) && virtual_host_safe(bucket);
  if (virtual_host) {
    out.url.host = bucket + "." + out.url.host;
    out.canonical_uri = prefix + "/" + encoded_key;
  } else {
    out.canonical_uri = prefix + "/" + uri_encode(bucket, true) + "/" + encoded_key;
  }
  if (key.empty() && !virtual_host) out.canonical_uri.pop_back();  // "/bucket", not "/bucket/"
  out.url.target = out.canonical_uri;
  return out;
}

}  // namespace smrun::s3
