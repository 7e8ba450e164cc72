#include "smrun/s3/client_config.hpp"

#include <gtest/gtest.h>

namespace smrun::s3 {
namespace {

ClientConfig resolve(std::map<std::string, std::string, std::less<>> vars,
                     const std::string& sagemaker_region = "") {
  auto config = resolve_client_config(env_from_map(std::move(vars)), sagemaker_region);
  EXPECT_TRUE(config) << config.error().message;
  return config ? *config : ClientConfig{};
}

TEST(ClientConfig, RegionOrderIsAwsRegionThenSagemakerThenDefaultRegion) {
  EXPECT_EQ(resolve({{"AWS_REGION", "eu-west-1"},
                     {"SAGEMAKER_REGION", "us-west-2"},
                     {"AWS_DEFAULT_REGION", "ap-south-1"}},
                    "ca-central-1")
                .region,
            "eu-west-1");
  ClientConfig hp =
      resolve({{"SAGEMAKER_REGION", "us-west-2"}, {"AWS_DEFAULT_REGION", "x-1"}}, "ca-central-1");
  EXPECT_EQ(hp.region, "ca-central-1");
  EXPECT_EQ(hp.region_source, "sagemaker_region");
  ClientConfig env = resolve({{"SAGEMAKER_REGION", "us-west-2"}, {"AWS_DEFAULT_REGION", "x-1"}});
  EXPECT_EQ(env.region, "us-west-2");
  EXPECT_EQ(env.region_source, "SAGEMAKER_REGION");
  EXPECT_EQ(resolve({{"AWS_DEFAULT_REGION", "ap-south-1"}}).region, "ap-south-1");
  ClientConfig none = resolve({});
  EXPECT_EQ(none.region, "us-east-1");
  EXPECT_EQ(none.region_source.rfind("default", 0), 0u);
  // An empty AWS_REGION counts as unset.
  EXPECT_EQ(resolve({{"AWS_REGION", ""}, {"AWS_DEFAULT_REGION", "eu-north-1"}}).region,
            "eu-north-1");
}

TEST(ClientConfig, BadRegionNamesItsSource) {
  auto config = resolve_client_config(env_from_map({{"AWS_REGION", "us west 2"}}), "");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message,
            "AWS_REGION='us west 2': expected an AWS region such as us-west-2");
}

TEST(ClientConfig, EndpointOrderIsReferenceThenServiceThenGlobal) {
  ClientConfig c = resolve({{"S3_ENDPOINT_URL", "http://127.0.0.1:9000"},
                            {"AWS_ENDPOINT_URL_S3", "http://127.0.0.2:9000"},
                            {"AWS_ENDPOINT_URL", "http://127.0.0.3:9000"}});
  ASSERT_TRUE(c.endpoint);
  EXPECT_EQ(c.endpoint->host, "127.0.0.1");
  EXPECT_EQ(c.endpoint_source, "S3_ENDPOINT_URL");
  c = resolve({{"AWS_ENDPOINT_URL_S3", "http://127.0.0.2:9000"},
               {"AWS_ENDPOINT_URL", "http://127.0.0.3:9000"}});
  EXPECT_EQ(c.endpoint->host, "127.0.0.2");
  c = resolve({{"AWS_ENDPOINT_URL", "https://127.0.0.3"}});
  EXPECT_EQ(c.endpoint->host, "127.0.0.3");
  EXPECT_EQ(c.endpoint->port, 443);
  EXPECT_FALSE(resolve({}).endpoint);
}

TEST(ClientConfig, BadEndpointIsAConfigErrorNamingTheVariable) {
  auto config = resolve_client_config(env_from_map({{"S3_ENDPOINT_URL", "ftp://x"}}), "");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().kind, base::ErrorKind::kConfig);
  EXPECT_EQ(config.error().message.rfind("S3_ENDPOINT_URL: invalid URL 'ftp://x'", 0), 0u);
}

TEST(HttpUrl, HostsAreNamesOrAddresses) {
  auto v6 = parse_http_url("https://[::1]:8443/s3/?x=1#frag");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8443);
  EXPECT_EQ(v6->target, "/s3/?x=1");
  EXPECT_EQ(v6->str(), "https://[::1]:8443/s3/?x=1");
  // Found by fuzz_s3_url: a bracket inside a bracketed host did not round-trip.
  auto nested = parse_http_url("https://[\xff[::1]]:8443/");
  ASSERT_FALSE(nested);
  EXPECT_EQ(nested.error().message,
            "invalid URL 'https://[\xff[::1]]:8443/': junk after the IPv6 address (expected "
            "http(s)://host[:port][/path])");
  auto not_v6 = parse_http_url("https://[::1x]/");
  ASSERT_FALSE(not_v6);
  EXPECT_NE(not_v6.error().message.find("the bracketed host is not an IPv6 address"),
            std::string::npos);
  EXPECT_FALSE(parse_http_url("http://a b/"));
  EXPECT_FALSE(parse_http_url("http://host\n/"));
  EXPECT_FALSE(parse_http_url("http://[::1/"));
  EXPECT_FALSE(parse_http_url("http://h:0/"));
  EXPECT_FALSE(parse_http_url("http://h:65536/"));
  EXPECT_FALSE(parse_http_url("http://user@h/"));
  EXPECT_TRUE(parse_http_url("http://s3_local.test-1:80"));
}

// The settings' defaults are the client's, and each SMRUN_S3_* value lands in its field.
TEST(ClientConfig, TransferSettingsComeFromTheSettings) {
  const TransferSettings defaults = transfer_settings(settings::Settings{});
  const TransferSettings plain;
  EXPECT_EQ(defaults.retry.max_attempts, plain.retry.max_attempts);
  EXPECT_EQ(defaults.retry.total, plain.retry.total);
  EXPECT_EQ(defaults.timeout, plain.timeout);
  EXPECT_EQ(defaults.concurrency, plain.concurrency);
  EXPECT_EQ(defaults.part_size, plain.part_size);
  EXPECT_EQ(defaults.progress_interval, plain.progress_interval);

  auto s = settings::read_settings(settings::Lookup([](std::string_view name) {
    const std::map<std::string, std::string, std::less<>> env = {
        {"SMRUN_S3_MAX_ATTEMPTS", "3"},    {"SMRUN_S3_RETRY_SECONDS", "7"},
        {"SMRUN_S3_CONCURRENCY", "2"},     {"SMRUN_S3_PART_SIZE_MB", "5"},
        {"SMRUN_S3_TIMEOUT_SECONDS", "4"}, {"SMRUN_S3_PROGRESS_SECONDS", "1"}};
    auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  }));
  ASSERT_TRUE(s) << s.error().message;
  const TransferSettings ok = transfer_settings(*s);
  EXPECT_EQ(ok.retry.max_attempts, 3);
  EXPECT_EQ(ok.retry.total, std::chrono::seconds(7));
  EXPECT_EQ(ok.concurrency, 2);
  EXPECT_EQ(ok.part_size, 5u << 20);
  EXPECT_EQ(ok.timeout, std::chrono::seconds(4));
  EXPECT_EQ(ok.progress_interval, std::chrono::seconds(1));
}

TEST(ClientConfig, VirtualHostedOnAwsPathStyleElsewhere) {
  ClientConfig aws = resolve({{"AWS_REGION", "us-west-2"}});
  RequestAddress a = address_for(aws, "us-west-2", "my-bucket", "dir/a b+c.tar.gz");
  EXPECT_EQ(a.url.str(), "https://my-bucket.s3.us-west-2.amazonaws.com/dir/a%20b%2Bc.tar.gz");
  EXPECT_EQ(a.canonical_uri, "/dir/a%20b%2Bc.tar.gz");

  // Dots break the wildcard certificate: path style.
  RequestAddress dots = address_for(aws, "us-west-2", "my.bucket", "k");
  EXPECT_EQ(dots.url.str(), "https://s3.us-west-2.amazonaws.com/my.bucket/k");

  RequestAddress china = address_for(aws, "cn-north-1", "b-1", "k");
  EXPECT_EQ(china.url.host, "b-1.s3.cn-north-1.amazonaws.com.cn");

  ClientConfig local = resolve({{"S3_ENDPOINT_URL", "http://127.0.0.1:4568"}});
  RequestAddress p = address_for(local, "us-east-1", "sm-test", "job/source/sourcedir.tar.gz");
  EXPECT_EQ(p.url.str(), "http://127.0.0.1:4568/sm-test/job/source/sourcedir.tar.gz");
  EXPECT_EQ(p.canonical_uri, "/sm-test/job/source/sourcedir.tar.gz");

  // A custom endpoint on AWS itself (SDK local mode sets AWS_ENDPOINT_URL_S3 like this) keeps
  // virtual-hosted addressing; an endpoint with a path keeps its prefix.
  ClientConfig regional = resolve({{"AWS_ENDPOINT_URL_S3", "https://s3.eu-west-1.amazonaws.com"}});
  EXPECT_EQ(address_for(regional, "eu-west-1", "bkt", "k").url.str(),
            "https://bkt.s3.eu-west-1.amazonaws.com/k");
  ClientConfig prefixed = resolve({{"S3_ENDPOINT_URL", "http://localhost:8080/s3/"}});
  EXPECT_EQ(address_for(prefixed, "us-east-1", "bkt", "k").canonical_uri, "/s3/bkt/k");
}

}  // namespace
}  // namespace smrun::s3
