// smrun's S3 client against a real S3 server (npm s3rver on loopback), directly and through a
// fault-injecting proxy: exact bytes, exact request sequences, exact retry counts.

#include "smrun/s3/transfer.hpp"

#include <gtest/gtest.h>

#include <random>
#include <regex>

#include "s3/support/fault_proxy.hpp"
#include "s3/support/s3_job.hpp"
#include "s3/support/s3_server.hpp"
#include "s3/support/test_ca.hpp"
#include "smrun/s3/client.hpp"
#include "smrun/s3/sigv4.hpp"

namespace smrun::s3 {
namespace {

using test::FaultProxy;
using test::random_bytes;
using test::S3Server;
using test::TempDir;

struct ClientSetup {
  std::string endpoint;
  std::string region = "us-east-1";
  std::filesystem::path ca_bundle;
  std::uint64_t part_size = 5ull << 20;
  int concurrency = 3;
  int max_attempts = 6;
  std::chrono::milliseconds timeout{30'000};
};

std::shared_ptr<S3Context> make_context(const ClientSetup& setup) {
  std::map<std::string, std::string, std::less<>> env = {
      {"AWS_ACCESS_KEY_ID", S3Server::kAccessKey},
      {"AWS_SECRET_ACCESS_KEY", S3Server::kSecretKey},
      {"AWS_EC2_METADATA_DISABLED", "true"},
      {"HOME", "/nonexistent"},
      {"AWS_REGION", setup.region},
      {"S3_ENDPOINT_URL", setup.endpoint}};
  if (!setup.ca_bundle.empty()) env["AWS_CA_BUNDLE"] = setup.ca_bundle.string();
  auto lookup = env_from_map(env);
  auto config = resolve_client_config(lookup, "");
  EXPECT_TRUE(config) << config.error().message;
  config->transfer.part_size = setup.part_size;
  config->transfer.concurrency = setup.concurrency;
  config->transfer.retry.max_attempts = setup.max_attempts;
  config->transfer.retry.base_delay = std::chrono::milliseconds(10);
  config->transfer.retry.max_delay = std::chrono::milliseconds(100);
  config->transfer.timeout = setup.timeout;
  return std::make_shared<S3Context>(*config, std::make_shared<CredentialCache>(lookup));
}

// "bytes=S-E" -> {S, E}
std::pair<std::uint64_t, std::uint64_t> parse_range(const std::string& range) {
  static const std::regex re(R"(bytes=(\d+)-(\d+))");
  std::smatch m;
  EXPECT_TRUE(std::regex_match(range, m, re)) << range;
  if (m.empty()) return {0, 0};
  return {std::stoull(m[1]), std::stoull(m[2])};
}

TEST(S3Transfer, DownloadsASmallObjectExactly) {
  S3Server s3({.buckets = {"sm-test"}});
  s3.objects().put("sm-test", "dir/a b+c.txt", "hello s3\n");
  TempDir tmp;
  auto context = make_context({.endpoint = s3.endpoint()});
  auto stats = download_file(context, {"sm-test", "dir/a b+c.txt"}, tmp / "out");
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(test::read_file(tmp / "out"), "hello s3\n");
  EXPECT_EQ(stats->bytes, 9u);
  EXPECT_EQ(stats->parts, 1);
  EXPECT_EQ(stats->retries, 0);
}

TEST(S3Transfer, DownloadsAnEmptyObject) {
  S3Server s3({.buckets = {"sm-test"}});
  s3.objects().put("sm-test", "empty", "");
  // S3 answers a ranged GET of an empty object with 416 InvalidRange (s3rver instead claims one
  // byte it never sends): the proxy answers as S3 does.
  FaultProxy proxy(s3, nlohmann::json::parse(R"([{"fault": "error", "status": 416,
      "code": "InvalidRange", "message": "The requested range is not satisfiable",
      "range": true}])"));
  TempDir tmp;
  auto context = make_context({.endpoint = proxy.endpoint()});
  auto stats = download_file(context, {"sm-test", "empty"}, tmp / "out");
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->bytes, 0u);
  EXPECT_EQ(test::read_file(tmp / "out"), "");
  const auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(*seen[0].range, "bytes=0-5242879");
  EXPECT_FALSE(seen[1].range);
  EXPECT_EQ(context->retries.load(), 0);
}

TEST(S3Transfer, DownloadsInParallelRangesAndResumesABrokenBodyWhereItBroke) {
  S3Server s3({.buckets = {"sm-test"}});
  const std::string data = random_bytes((23u << 20) + 12345, 7);
  TempDir tmp;
  test::write_file(tmp / "src", data);
  s3.objects().put_file("sm-test", "model/weights.bin", tmp / "src");
  // The third ranged GET breaks after 1 MiB of its body.
  FaultProxy proxy(s3, nlohmann::json::parse(
                           R"([{"fault": "reset", "after_bytes": 1048576, "range": true,
                                "skip": 2, "method": "GET"}])"));
  auto context = make_context({.endpoint = proxy.endpoint()});
  auto stats = download_file(context, {"sm-test", "model/weights.bin"}, tmp / "out");
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_TRUE(test::read_file(tmp / "out") == data) << "downloaded bytes differ";
  EXPECT_EQ(stats->bytes, data.size());
  EXPECT_EQ(stats->parts, 5);  // 23 MiB + a bit in 5 MiB parts
  EXPECT_EQ(stats->retries, 1);

  const auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 6u) << proxy.log();
  EXPECT_EQ(*seen[0].range, "bytes=0-5242879");
  int resets = 0;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    ASSERT_TRUE(seen[i].range) << "every request is ranged";
    if (seen[i].action != "reset") continue;
    ++resets;
    const auto [start, end] = parse_range(*seen[i].range);
    // The resumed request asks for the rest of the same part only: from where the body broke
    // (at most the 1 MiB sent, at least something past the start) to the same end.
    bool resumed = false;
    for (std::size_t j = i + 1; j < seen.size(); ++j) {
      const auto [s2, e2] = parse_range(*seen[j].range);
      if (e2 != end) continue;
      resumed = true;
      EXPECT_GT(s2, start) << "started over instead of resuming";
      EXPECT_LE(s2, start + 1048576);
      EXPECT_EQ(seen[j].headers.at("if-match"), seen[i].headers.at("if-match"));
    }
    EXPECT_TRUE(resumed);
  }
  EXPECT_EQ(resets, 1);
}

TEST(S3Transfer, RetriesSlowDownWithBackoffThenSucceeds) {
  S3Server s3({.buckets = {"sm-test"}});
  s3.objects().put("sm-test", "k", "payload");
  FaultProxy proxy(s3, nlohmann::json::parse(R"([{"fault": "slow_down", "times": 3}])"));
  TempDir tmp;
  auto context = make_context({.endpoint = proxy.endpoint()});
  auto stats = download_file(context, {"sm-test", "k"}, tmp / "out");
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(test::read_file(tmp / "out"), "payload");
  EXPECT_EQ(stats->retries, 3);
  const auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(seen[i].action, "slow_down");
  EXPECT_EQ(seen[3].action, "forward");
}

TEST(S3Transfer, GivesUpAfterTheAttemptBoundWithS3sCode) {
  S3Server s3({.buckets = {"sm-test"}});
  s3.objects().put("sm-test", "k", "payload");
  FaultProxy proxy(s3, nlohmann::json::parse(R"([{"fault": "slow_down", "times": -1}])"));
  TempDir tmp;
  auto stats = download_file(make_context({.endpoint = proxy.endpoint(), .max_attempts = 3}),
                             {"sm-test", "k"}, tmp / "out");
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().http_status, 503);
  EXPECT_EQ(stats.error().code, "SlowDown");
  EXPECT_NE(stats.error().message.find("download of s3://sm-test/k failed: SlowDown (HTTP 503)"),
            std::string::npos)
      << stats.error().message;
  EXPECT_NE(stats.error().message.find("gave up after 3 attempts"), std::string::npos);
  EXPECT_EQ(proxy.requests().size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(tmp / "out")) << "partial file left behind";
}

TEST(S3Transfer, InternalErrorsAndResetsBeforeAnyByteAreRetried) {
  S3Server s3({.buckets = {"sm-test"}});
  s3.objects().put("sm-test", "k", "payload");
  FaultProxy proxy(s3, nlohmann::json::parse(R"([{"fault": "internal_error", "times": 1},
                                                {"fault": "reset", "no_response": true}])"));
  TempDir tmp;
  auto context = make_context({.endpoint = proxy.endpoint()});
  auto stats = download_file(context, {"sm-test", "k"}, tmp / "out");
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(test::read_file(tmp / "out"), "payload");
  // The 500 is a counted retry; the reset hit the kept-alive connection before any response
  // byte, so the HTTP client resent the request at once on a new connection (as HTTP clients do
  // for a stale keep-alive connection).
  EXPECT_EQ(stats->retries, 1);
  const auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].action, "internal_error");
  EXPECT_EQ(seen[1].action, "reset");
  EXPECT_EQ(seen[2].action, "forward");
}

TEST(S3Transfer, ATimedOutResponseIsRetried) {
  S3Server s3({.buckets = {"sm-test"}});
  s3.objects().put("sm-test", "k", "payload");
  FaultProxy proxy(s3, nlohmann::json::parse(R"([{"fault": "delay", "ms": 4000}])"));
  TempDir tmp;
  const auto t0 = std::chrono::steady_clock::now();
  auto stats = download_file(
      make_context({.endpoint = proxy.endpoint(), .timeout = std::chrono::milliseconds(1000)}),
      {"sm-test", "k"}, tmp / "out");
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->retries, 1);
  EXPECT_EQ(test::read_file(tmp / "out"), "payload");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4))
      << "the client waited for the slow answer instead of timing out";
}

TEST(S3Transfer, ExpiredTokenFetchesFreshCredentialsAndRetriesOnce) {
  S3Server s3({.buckets = {"sm-test"}});
  s3.objects().put("sm-test", "k", "payload");
  FaultProxy proxy(s3, nlohmann::json::parse(R"([{"fault": "expired_token"}])"));
  TempDir tmp;
  auto context = make_context({.endpoint = proxy.endpoint()});
  auto stats = download_file(context, {"sm-test", "k"}, tmp / "out");
  ASSERT_TRUE(stats) << stats.error().message;
  const auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].action, "expired_token");
  EXPECT_EQ(seen[1].action, "forward");
}

TEST(S3Transfer, ExpiredTokenTwiceIsAClearError) {
  S3Server s3({.buckets = {"sm-test"}});
  FaultProxy proxy(s3, nlohmann::json::parse(R"([{"fault": "expired_token", "times": -1}])"));
  TempDir tmp;
  auto stats =
      download_file(make_context({.endpoint = proxy.endpoint()}), {"sm-test", "k"}, tmp / "out");
  ASSERT_FALSE(stats);
  EXPECT_NE(stats.error().message.find(
                "ExpiredToken (HTTP 400): The provided token has expired; the session token from "
                "environment has expired, and fresh credentials did not help"),
            std::string::npos)
      << stats.error().message;
  EXPECT_EQ(proxy.requests().size(), 2u);
}

class WrongRegion : public ::testing::TestWithParam<std::string> {};

TEST_P(WrongRegion, IsCorrectedFromS3sAnswerAndRemembered) {
  S3Server s3({.buckets = {"sm-test"}});
  s3.objects().put("sm-test", "a", "first");
  s3.objects().put("sm-test", "b", "second");
  FaultProxy proxy(
      s3,
      nlohmann::json{{{"fault", "wrong_region"}, {"region", "eu-west-1"}, {"style", GetParam()}}});
  TempDir tmp;
  auto context = make_context({.endpoint = proxy.endpoint(), .region = "us-west-2"});
  ASSERT_TRUE(download_file(context, {"sm-test", "a"}, tmp / "a"));
  ASSERT_TRUE(download_file(context, {"sm-test", "b"}, tmp / "b"));
  EXPECT_EQ(test::read_file(tmp / "b"), "second");
  const auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(*seen[0].region, "us-west-2");
  EXPECT_EQ(*seen[1].region, "eu-west-1");
  EXPECT_EQ(*seen[2].region, "eu-west-1") << "the bucket's region was not remembered";
}

INSTANTIATE_TEST_SUITE_P(Styles, WrongRegion, ::testing::Values("malformed", "redirect"));

TEST(S3Transfer, MissingKeyAndBucketAreOneLineErrorsWithAdvice) {
  S3Server s3({.buckets = {"sm-test"}});
  TempDir tmp;
  auto context = make_context({.endpoint = s3.endpoint()});
  auto key = download_file(context, {"sm-test", "job/source/sourcedir.tar.gz"}, tmp / "out");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().message,
            "download of s3://sm-test/job/source/sourcedir.tar.gz failed: NoSuchKey (HTTP 404): "
            "The specified key does not exist; no object has this key; check the URL (the "
            "SageMaker SDK uploads source_dir as <prefix>/source/sourcedir.tar.gz)");
  auto bucket = download_file(context, {"no-such-bucket", "k"}, tmp / "out");
  ASSERT_FALSE(bucket);
  EXPECT_EQ(bucket.error().code, "NoSuchBucket");
  EXPECT_NE(bucket.error().message.find("the bucket does not exist; check its name"),
            std::string::npos);
  EXPECT_EQ(context->retries.load(), 0) << "a missing key is not retried";
}

TEST(S3Transfer, HttpsVerifiesTheServerCertificate) {
  test::TestCa ca;
  S3Server s3({.buckets = {"sm-test"}, .tls = ca.issue_server_cert()});
  s3.objects().put("sm-test", "k", "over tls");
  TempDir tmp;
  auto ok = download_file(make_context({.endpoint = s3.endpoint(), .ca_bundle = ca.cert()}),
                          {"sm-test", "k"}, tmp / "ok");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(test::read_file(tmp / "ok"), "over tls");
  // Same name, through "localhost".
  ASSERT_TRUE(
      download_file(make_context({.endpoint = s3.endpoint("localhost"), .ca_bundle = ca.cert()}),
                    {"sm-test", "k"}, tmp / "ok2"));

  test::TestCa other("unrelated CA");
  auto refused = download_file(make_context({.endpoint = s3.endpoint(), .ca_bundle = other.cert()}),
                               {"sm-test", "k"}, tmp / "no");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("certificate verification failed"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("AWS_CA_BUNDLE"), std::string::npos);
  EXPECT_EQ(refused.error().message.find("gave up after"), std::string::npos)
      << "a certificate failure is not retried";
}

TEST(S3Transfer, HttpsRefusesACertificateForAnotherName) {
  test::TestCa ca;
  S3Server s3({.buckets = {"sm-test"}, .tls = ca.issue_server_cert({"DNS:s3.example.test"})});
  TempDir tmp;
  auto refused = download_file(make_context({.endpoint = s3.endpoint(), .ca_bundle = ca.cert()}),
                               {"sm-test", "k"}, tmp / "no");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("certificate verification failed"), std::string::npos)
      << refused.error().message;
}

TEST(S3Transfer, UploadsOnePutAndMultipartWithRetriedParts) {
  S3Server s3({.buckets = {"sm-test"}});
  // One part of the multipart upload is throttled once.
  FaultProxy proxy(s3,
                   nlohmann::json::parse(
                       R"([{"fault": "slow_down", "method": "PUT", "query": "partNumber=2"}])"));
  TempDir tmp;
  const std::string small = "small file\n";
  const std::string big = random_bytes((12u << 20) + 3, 11);
  test::write_file(tmp / "small", small);
  test::write_file(tmp / "big", big);
  auto context = make_context({.endpoint = proxy.endpoint()});
  auto one = upload_file(context, tmp / "small", {"sm-test", "out/small.txt"});
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(one->parts, 1);
  auto multi = upload_file(context, tmp / "big", {"sm-test", "out/big.bin"});
  ASSERT_TRUE(multi) << multi.error().message;
  EXPECT_EQ(multi->parts, 3);
  EXPECT_EQ(multi->retries, 1);
  EXPECT_EQ(s3.objects().get("sm-test", "out/small.txt"), small);
  EXPECT_TRUE(s3.objects().get("sm-test", "out/big.bin") == big) << "multipart object differs";

  int puts = 0, creates = 0, completes = 0;
  for (const auto& r : proxy.requests()) {
    if (r.method == "PUT" && r.query.find("partNumber=") != std::string::npos) ++puts;
    if (r.method == "POST" && r.query == "uploads=") ++creates;
    if (r.method == "POST" && r.query.rfind("uploadId=", 0) == 0) ++completes;
  }
  EXPECT_EQ(creates, 1);
  EXPECT_EQ(puts, 4);  // 3 parts + 1 retry
  EXPECT_EQ(completes, 1);
}

TEST(S3Transfer, DownloadsAOneGibObjectIntact) {
#if defined(__SANITIZE_ADDRESS__)
  // Under ASan (a Debug build) generating and hashing 1 GiB takes minutes; the release build
  // runs this test.
  GTEST_SKIP() << "1 GiB download runs in the release build only";
#endif
  S3Server s3({.buckets = {"sm-test"}});
  TempDir tmp;
  {
    // 1 GiB of pseudo-random data, written in 8 MiB blocks.
    std::FILE* f = std::fopen((tmp / "src").c_str(), "wb");
    ASSERT_NE(f, nullptr);
    for (unsigned block = 0; block < 128; ++block) {
      const std::string chunk = random_bytes(8u << 20, block);
      ASSERT_EQ(std::fwrite(chunk.data(), 1, chunk.size(), f), chunk.size());
    }
    std::fclose(f);
  }
  s3.objects().put_file("sm-test", "big/1gib.bin", tmp / "src");
  ClientSetup setup{.endpoint = s3.endpoint(), .part_size = 16u << 20, .concurrency = 8};
  auto stats = download_file(make_context(setup), {"sm-test", "big/1gib.bin"}, tmp / "out");
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->bytes, 1ull << 30);
  EXPECT_EQ(stats->parts, 64);
  // Compare SHA-256 digests of the two files.
  auto digest = [](const std::filesystem::path& p) {
    test::ProcessOptions o;
    o.argv = {"/usr/bin/sha256sum", p.string()};
    o.timeout = std::chrono::seconds(120);
    auto r = test::run_process(o);
    return r.out.substr(0, 64);
  };
  const std::string want = digest(tmp / "src");
  ASSERT_EQ(want.size(), 64u);
  EXPECT_EQ(digest(tmp / "out"), want);
}

}  // namespace
}  // namespace smrun::s3
