// Tests of the s3 test infrastructure itself (tests/s3/support): the loopback-only network
// namespace, s3rver over HTTP and HTTPS with a test CA, botocore round trips, every fault of the
// fault proxy exactly as planned, and that nothing the fixtures start outlives them.

#include <arpa/inet.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "s3/support/s3_fixture.hpp"

namespace smrun::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string binary_payload(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + i / 256) & 0xff);
  return s;
}

std::string get_request(std::uint16_t port, const std::string& target,
                        const std::string& region = "us-east-1",
                        const std::map<std::string, std::string>& headers = {}) {
  return s3_style_request("GET", target, port, region, headers);
}

bool pid_exists(pid_t pid) {
  return kill(pid, 0) == 0 || errno != ESRCH;
}

// ---------------------------------------------------------------------------------------------
// Loopback-only namespace

TEST(Loopback, TheBinarySeesOnlyLoAndNoMetadataAddress) {
  if (!loopback_state().isolated) GTEST_SKIP() << loopback_state().reason;
  EXPECT_EQ(network_interfaces(), std::vector<std::string>{"lo"});

  // The instance metadata address is not even routable: connect fails at once.
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(80);
  inet_pton(AF_INET, "169.254.169.254", &addr.sin_addr);
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  close(fd);
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, ENETUNREACH) << std::strerror(err);
}

TEST(Loopback, ChildrenInheritTheNamespace) {
  if (!loopback_state().isolated) GTEST_SKIP() << loopback_state().reason;
  TempDir home;
  ProcessOptions opts;
  opts.argv = {system_python().string(), "-c",
               "import socket; print(' '.join(n for _, n in socket.if_nameindex()))"};
  opts.env = python_child_env(home.path());
  ProcessResult r = run_process(opts);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "lo\n");
}

TEST(Loopback, LoopbackWorks) {
  // Whatever the namespace, 127.0.0.1 must be usable (the kernel assigns it when lo is up).
  int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(server, 1), 0);
  socklen_t len = sizeof(addr);
  getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len);
  int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
      << std::strerror(errno);
  close(client);
  close(server);
}

TEST(Loopback, ChildEnvironmentHasNoAwsSettingsOfTheMachine) {
  setenv("AWS_ACCESS_KEY_ID", "AKIAMACHINE", 1);
  setenv("AWS_PROFILE", "machine", 1);
  setenv("AWS_CONFIG_FILE", "/root/.aws/config", 1);
  TempDir home;
  auto env = isolated_child_env(home.path());
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_PROFILE");
  unsetenv("AWS_CONFIG_FILE");
  for (const auto& [k, v] : env) {
    if (k.rfind("AWS_", 0) == 0) {
      EXPECT_EQ(k, "AWS_EC2_METADATA_DISABLED");
    }
  }
  EXPECT_EQ(env.at("AWS_EC2_METADATA_DISABLED"), "true");
  EXPECT_EQ(env.at("HOME"), home.path().string());
  EXPECT_TRUE(env.count("PATH"));
}

// ---------------------------------------------------------------------------------------------
// s3rver over HTTP and HTTPS

TEST(S3ServerFixture, HttpPutGetListRoundTripWithBotocore) {
  S3Server s3({.buckets = {"sm-test"}});
  EXPECT_EQ(s3.endpoint(), "http://127.0.0.1:" + std::to_string(s3.port()));
  S3Objects objects = s3.objects();
  const std::string data = binary_payload(300'000);
  objects.put("sm-test", "job1/source/sourcedir.tar.gz", data);
  objects.put("sm-test", "job1/output/a b+c.txt", "hello s3", "text/plain", {{"k", "v"}});
  EXPECT_EQ(objects.get("sm-test", "job1/source/sourcedir.tar.gz"), data);
  EXPECT_EQ(objects.list("sm-test", "job1/"),
            (std::vector<std::string>{"job1/output/a b+c.txt", "job1/source/sourcedir.tar.gz"}));
  S3Result head = objects.head("sm-test", "job1/output/a b+c.txt");
  ASSERT_TRUE(head.ok) << head.message;
  EXPECT_EQ(head.size, 8u);
  EXPECT_EQ(head.content_type, "text/plain");
  EXPECT_EQ(head.metadata, (std::map<std::string, std::string>{{"k", "v"}}));
  S3Result range = objects.try_get("sm-test", "job1/output/a b+c.txt", "bytes=6-7");
  ASSERT_TRUE(range.ok) << range.message;
  EXPECT_EQ(range.body, "s3");
  EXPECT_EQ(range.status, 206);
}

TEST(S3ServerFixture, HttpMissingKeysBucketsBatchesAndUnsignedRequests) {
  S3Server s3({.buckets = {"sm-test"}});
  S3Objects objects = s3.objects();
  objects.put("sm-test", "job1/output/a b+c.txt", "hello s3");
  EXPECT_EQ(objects.get_if_exists("sm-test", "missing"), std::nullopt);
  S3Result missing = objects.try_get("sm-test", "missing");
  EXPECT_EQ(missing.code, "NoSuchKey");
  EXPECT_EQ(missing.status, 404);

  // A new bucket, and the batch form.
  objects.create_bucket("second");
  TempDir tmp;
  write_file(tmp / "in", "batched");
  auto results = objects.run(json::array(
      {{{"op", "put"}, {"bucket", "second"}, {"key", "k"}, {"file", (tmp / "in").string()}},
       {{"op", "get"}, {"bucket", "second"}, {"key", "k"}, {"file", (tmp / "out").string()}},
       {{"op", "delete"}, {"bucket", "second"}, {"key", "k"}},
       {{"op", "list"}, {"bucket", "second"}}}));
  ASSERT_EQ(results.size(), 4u);
  for (const auto& r : results) EXPECT_TRUE(r.ok) << r.code << ": " << r.message;
  EXPECT_EQ(read_file(tmp / "out"), "batched");
  EXPECT_TRUE(results[3].keys.empty());

  // s3rver's own log names the requests; an unsigned GET works too.
  EXPECT_NE(s3.log().find("a%20b%2Bc.txt"), std::string::npos) << s3.log();
  RawHttpResult raw =
      raw_http_exchange(s3.port(),
                        "GET /sm-test/job1/output/a%20b%2Bc.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Connection: close\r\n\r\n",
                        10s);
  EXPECT_EQ(raw.status, 200) << raw.raw;
  EXPECT_EQ(raw.body, "hello s3");
}

TEST(S3ServerFixture, SignedRequestsNeedContentSha256AndAKnownAccessKey) {
  S3Server s3({.buckets = {"b"}});
  s3.objects().put("b", "k", "v");
  // What the notes say about s3rver 3.7.1, so tests do not rely on more than it checks.
  std::string no_sha = s3_style_request("GET", "/b/k", s3.port());
  no_sha.erase(no_sha.find("x-amz-content-sha256"),
               no_sha.find("\r\n", no_sha.find("x-amz-content-sha256")) + 2 -
                   no_sha.find("x-amz-content-sha256"));
  RawHttpResult r = raw_http_exchange(s3.port(), no_sha, 10s);
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_NE(r.body.find("x-amz-content-sha256"), std::string::npos) << r.body;
  // A fake signature with the known key is accepted (signatures are not verified).
  r = raw_http_exchange(s3.port(), s3_style_request("GET", "/b/k", s3.port()), 10s);
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, "v");
}

TEST(S3ServerFixture, HttpsWithTheTestCaAndOnlyWithIt) {
  TestCa ca;
  TestCa unrelated("unrelated CA");
  S3Server s3({.buckets = {"secure"}, .tls = ca.issue_server_cert()});
  EXPECT_TRUE(s3.tls());
  EXPECT_EQ(s3.endpoint(), "https://127.0.0.1:" + std::to_string(s3.port()));
  s3.objects().put("secure", "k", "over tls");
  EXPECT_EQ(s3.objects().get("secure", "k"), "over tls");

  // The certificate names localhost too.
  S3Objects by_name({.endpoint = s3.endpoint("localhost"), .ca_bundle = ca.cert()});
  EXPECT_EQ(by_name.get("secure", "k"), "over tls");

  // Trusting another CA, or the system's CAs, fails the handshake.
  S3Result wrong =
      S3Objects({.endpoint = s3.endpoint(), .ca_bundle = unrelated.cert()}).try_get("secure", "k");
  EXPECT_FALSE(wrong.ok);
  EXPECT_EQ(wrong.code, "SSLError") << wrong.message;
  EXPECT_NE(wrong.message.find("CERTIFICATE_VERIFY_FAILED"), std::string::npos) << wrong.message;
  S3Result system = S3Objects({.endpoint = s3.endpoint()}).try_get("secure", "k");
  EXPECT_EQ(system.code, "SSLError") << system.message;
}

TEST(TestCaFixture, ServerCertificateChainsToItsCaWithTheRightNames) {
  TestCa ca;
  TestCa unrelated("unrelated CA");
  ServerCert cert = ca.issue_server_cert();
  EXPECT_EQ(cert.ca, ca.cert());
  const std::string openssl = find_program("openssl").string();
  auto run = [&](std::vector<std::string> args) {
    ProcessOptions opts;
    opts.argv = {openssl};
    opts.argv.insert(opts.argv.end(), args.begin(), args.end());
    return run_process(opts);
  };
  ProcessResult ok =
      run({"verify", "-CAfile", ca.cert().string(), "-purpose", "sslserver", cert.cert.string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  ProcessResult bad = run({"verify", "-CAfile", unrelated.cert().string(), cert.cert.string()});
  EXPECT_NE(bad.exit_code, 0) << bad.out;
  ProcessResult san = run({"x509", "-noout", "-ext", "subjectAltName", "-in", cert.cert.string()});
  EXPECT_NE(san.out.find("IP Address:127.0.0.1"), std::string::npos) << san.out;
  EXPECT_NE(san.out.find("DNS:localhost"), std::string::npos) << san.out;
  // Each certificate gets its own files.
  ServerCert other = ca.issue_server_cert({"DNS:example.test"}, "example.test");
  EXPECT_NE(other.cert, cert.cert);
}

// ---------------------------------------------------------------------------------------------
// Cleanup

TEST(S3ServerFixture, NothingSurvivesTheFixture) {
  pid_t pid = 0;
  std::string data_dir;
  {
    S3Server s3;
    pid = s3.pid();
    data_dir = s3.data_dir().string();
    ASSERT_TRUE(pid_exists(pid));
    ASSERT_EQ(processes_with_cmdline_containing(data_dir).size(), 1u);
  }
  EXPECT_FALSE(pid_exists(pid));
  EXPECT_FALSE(process_group_alive(pid));
  EXPECT_TRUE(processes_with_cmdline_containing(data_dir).empty());
  EXPECT_FALSE(std::filesystem::exists(data_dir));
}

pid_t g_failed_test_server = 0;
void start_server_then_fail() {
  S3Server s3;
  g_failed_test_server = s3.pid();
  ASSERT_TRUE(false) << "a test failing with a server running";
}

TEST(S3ServerFixture, AFailingTestStillStopsItsServer) {
  EXPECT_FATAL_FAILURE(start_server_then_fail(), "a test failing with a server running");
  ASSERT_GT(g_failed_test_server, 0);
  EXPECT_FALSE(pid_exists(g_failed_test_server));
  EXPECT_FALSE(process_group_alive(g_failed_test_server));
}

TEST(S3ServerFixture, AStartFailureSaysWhatItWaitedForAndLeavesNothing) {
  ServerCert missing{"/nonexistent/cert.pem", "/nonexistent/key.pem", "/nonexistent/ca.pem"};
  try {
    S3Server s3({.tls = missing});
    FAIL() << "s3rver started without its certificate";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("s3rver did not start"), std::string::npos) << what;
    EXPECT_NE(what.find("ready line"), std::string::npos) << what;
    EXPECT_NE(what.find("/nonexistent/key.pem"), std::string::npos) << what;  // the log's tail
  }
  EXPECT_TRUE(processes_with_cmdline_containing("/nonexistent/cert.pem").empty());
}

TEST(S3ServerFixture, StopIsExplicitAndIdempotent) {
  S3Server s3;
  pid_t pid = s3.pid();
  s3.stop();
  EXPECT_TRUE(s3.stopped());
  EXPECT_FALSE(pid_exists(pid));
  s3.stop();
  RawHttpResult r = raw_http_exchange(s3.port(), "GET / HTTP/1.1\r\n\r\n", 5s);
  EXPECT_EQ(r.error_number, ECONNREFUSED);
}

// ---------------------------------------------------------------------------------------------
// The fault proxy

class FaultProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    s3 = std::make_unique<S3Server>(S3ServerOptions{.buckets = {"b"}});
    TempDir tmp;
    write_file(tmp / "small", "0123456789abcdefghij");
    write_file(tmp / "big", big);
    auto r = s3->objects().run(json::array(
        {{{"op", "put"}, {"bucket", "b"}, {"key", "small"}, {"file", (tmp / "small").string()}},
         {{"op", "put"}, {"bucket", "b"}, {"key", "big"}, {"file", (tmp / "big").string()}}}));
    for (const auto& x : r) ASSERT_TRUE(x.ok) << x.message;
  }

  RawHttpResult get(FaultProxy& proxy, const std::string& target,
                    const std::map<std::string, std::string>& headers = {},
                    const std::string& region = "us-east-1",
                    std::chrono::milliseconds timeout = 20s) {
    return raw_http_exchange(proxy.port(), get_request(proxy.port(), target, region, headers),
                             timeout);
  }

  const std::string big = binary_payload(200'000);
  std::unique_ptr<S3Server> s3;
};

TEST_F(FaultProxyTest, ForwardsUnchangedAndRecordsEveryRequest) {
  FaultProxy proxy(*s3, json::array());
  S3Objects via({.endpoint = proxy.endpoint(), .session_token = "TOKEN123"});
  EXPECT_EQ(via.get("b", "big"), big);
  via.put("b", "new/key.txt", "through the proxy");
  EXPECT_EQ(s3->objects().get("b", "new/key.txt"), "through the proxy");
  EXPECT_EQ(via.list("b", "new/"), std::vector<std::string>{"new/key.txt"});

  auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 3u) << proxy.log();
  EXPECT_EQ(seen[0].seq, 1);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].path, "/b/big");
  EXPECT_EQ(seen[0].action, "forward");
  EXPECT_EQ(seen[0].status, 200);
  EXPECT_EQ(seen[0].rule, std::nullopt);
  EXPECT_EQ(seen[0].access_key, "S3RVER");
  EXPECT_EQ(seen[0].region, "us-east-1");
  ASSERT_TRUE(seen[0].credential_scope);
  EXPECT_NE(seen[0].credential_scope->find("/us-east-1/s3/aws4_request"), std::string::npos);
  EXPECT_EQ(seen[0].security_token, "TOKEN123");
  EXPECT_EQ(seen[1].method, "PUT");
  EXPECT_EQ(seen[1].path, "/b/new/key.txt");
  EXPECT_EQ(seen[1].body_length, 17u);
  EXPECT_TRUE(seen[1].headers.count("x-amz-content-sha256"));
  EXPECT_NE(seen[2].query.find("list-type=2"), std::string::npos) << seen[2].query;

  RawHttpResult unsigned_get = raw_http_exchange(
      proxy.port(), "GET /b/small HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 10s);
  EXPECT_EQ(unsigned_get.body, "0123456789abcdefghij");
  auto last = proxy.requests().back();
  EXPECT_EQ(last.region, std::nullopt);
  EXPECT_EQ(last.security_token, std::nullopt);
}

TEST_F(FaultProxyTest, SlowDownForTheFirstNRequestsThenForwards) {
  FaultProxy proxy(*s3, json::parse(R"([{"fault": "slow_down", "times": 2, "method": "GET"}])"));
  RawHttpResult r1 = get(proxy, "/b/small");
  EXPECT_EQ(r1.status, 503);
  EXPECT_NE(r1.body.find("<Code>SlowDown</Code>"), std::string::npos) << r1.body;
  EXPECT_EQ(r1.header("content-type"), "application/xml");
  EXPECT_EQ(r1.end, RawHttpResult::End::kEof);
  EXPECT_EQ(get(proxy, "/b/small").status, 503);
  RawHttpResult r3 = get(proxy, "/b/small");
  EXPECT_EQ(r3.status, 200);
  EXPECT_EQ(r3.body, "0123456789abcdefghij");

  auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].action, "slow_down");
  EXPECT_EQ(seen[0].rule, 0);
  EXPECT_EQ(seen[0].status, 503);
  EXPECT_EQ(seen[1].action, "slow_down");
  EXPECT_EQ(seen[2].action, "forward");
}

TEST_F(FaultProxyTest, BotocoreRetryCountsAreExact) {
  FaultProxy proxy(*s3, json::parse(R"([{"fault": "slow_down", "times": 2, "path": "/b/big"}])"));
  S3Objects retrying({.endpoint = proxy.endpoint(), .attempts = 3});
  EXPECT_EQ(retrying.get("b", "big"), big);
  auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2].action, "forward");

  FaultProxy errors(*s3, json::parse(R"([{"fault": "internal_error", "times": 3}])"));
  S3Result r = S3Objects({.endpoint = errors.endpoint(), .attempts = 2}).try_get("b", "small");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, "InternalError");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(errors.requests().size(), 2u);
  // One left in the plan, then forwarding.
  EXPECT_EQ(get(errors, "/b/small").status, 500);
  EXPECT_EQ(get(errors, "/b/small").status, 200);
}

TEST_F(FaultProxyTest, ResetAfterKBodyBytesWithoutRange) {
  FaultProxy proxy(
      *s3, json::parse(R"([{"fault": "reset", "after_bytes": 1000, "range": false, "times": 2}])"));
  RawHttpResult r = get(proxy, "/b/big");
  EXPECT_EQ(r.end, RawHttpResult::End::kReset) << raw_http_end_name(r.end);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-length"), "200000");
  EXPECT_EQ(r.body, big.substr(0, 1000));

  // A ranged GET does not match this rule.
  RawHttpResult ranged = get(proxy, "/b/big", {{"Range", "bytes=1000-"}});
  EXPECT_EQ(ranged.end, RawHttpResult::End::kEof);
  EXPECT_EQ(ranged.status, 206);
  EXPECT_EQ(ranged.body, big.substr(1000));

  EXPECT_EQ(get(proxy, "/b/big").end, RawHttpResult::End::kReset);  // the second time
  RawHttpResult whole = get(proxy, "/b/big");
  EXPECT_EQ(whole.end, RawHttpResult::End::kEof);
  EXPECT_EQ(whole.body, big);

  auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].action, "reset");
  EXPECT_EQ(seen[0].range, std::nullopt);
  EXPECT_EQ(seen[1].action, "forward");
  EXPECT_EQ(seen[1].range, "bytes=1000-");
  EXPECT_EQ(seen[2].action, "reset");
  EXPECT_EQ(seen[3].action, "forward");
}

TEST_F(FaultProxyTest, ResetOnlyRangedGets) {
  FaultProxy proxy(
      *s3, json::parse(R"([{"fault": "reset", "after_bytes": 10, "range": true, "times": 1}])"));
  EXPECT_EQ(get(proxy, "/b/big").body, big);
  RawHttpResult r = get(proxy, "/b/big", {{"Range", "bytes=100-199"}});
  EXPECT_EQ(r.end, RawHttpResult::End::kReset);
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.header("content-range"), "bytes 100-199/200000");
  EXPECT_EQ(r.body, big.substr(100, 10));
  RawHttpResult again = get(proxy, "/b/big", {{"Range", "bytes=100-199"}});
  EXPECT_EQ(again.end, RawHttpResult::End::kEof);
  EXPECT_EQ(again.body, big.substr(100, 100));
}

TEST_F(FaultProxyTest, ResetBeforeAnyResponse) {
  FaultProxy proxy(*s3, json::parse(R"([{"fault": "reset", "no_response": true}])"));
  RawHttpResult r = get(proxy, "/b/small");
  EXPECT_EQ(r.end, RawHttpResult::End::kReset);
  EXPECT_TRUE(r.raw.empty()) << r.raw;
  EXPECT_EQ(proxy.requests().at(0).status, std::nullopt);
  EXPECT_EQ(get(proxy, "/b/small").status, 200);
}

TEST_F(FaultProxyTest, ExpiredTokenOnce) {
  FaultProxy proxy(*s3, json::parse(R"([{"fault": "expired_token"}])"));
  RawHttpResult r = get(proxy, "/b/small", {{"x-amz-security-token", "OLD"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("<Code>ExpiredToken</Code>"), std::string::npos) << r.body;
  RawHttpResult r2 = get(proxy, "/b/small", {{"x-amz-security-token", "NEW"}});
  EXPECT_EQ(r2.status, 200);
  auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].security_token, "OLD");
  EXPECT_EQ(seen[1].security_token, "NEW");
  EXPECT_EQ(seen[0].action, "expired_token");
}

TEST_F(FaultProxyTest, WrongRegionMalformedUntilSignedForTheRightRegion) {
  FaultProxy proxy(*s3, json::parse(R"([{"fault": "wrong_region", "region": "eu-west-1"}])"));
  for (int i = 0; i < 2; ++i) {
    RawHttpResult r = get(proxy, "/b/small", {}, "us-east-1");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("<Code>AuthorizationHeaderMalformed</Code>"), std::string::npos);
    EXPECT_NE(r.body.find("<Region>eu-west-1</Region>"), std::string::npos) << r.body;
    EXPECT_EQ(r.header("x-amz-bucket-region"), "eu-west-1");
  }
  RawHttpResult head = raw_http_exchange(
      proxy.port(), s3_style_request("HEAD", "/b/small", proxy.port(), "us-west-2"), 10s);
  EXPECT_EQ(head.status, 400);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.header("x-amz-bucket-region"), "eu-west-1");
  RawHttpResult right = get(proxy, "/b/small", {}, "eu-west-1");
  EXPECT_EQ(right.status, 200);
  EXPECT_EQ(right.body, "0123456789abcdefghij");

  auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].region, "us-east-1");
  EXPECT_EQ(seen[0].action, "wrong_region");
  EXPECT_EQ(seen[2].region, "us-west-2");
  EXPECT_EQ(seen[3].region, "eu-west-1");
  EXPECT_EQ(seen[3].action, "forward");
}

TEST_F(FaultProxyTest, WrongRegionPermanentRedirect) {
  FaultProxy proxy(*s3, json::parse(R"([{"fault": "wrong_region", "region": "eu-west-1",
                                          "style": "redirect", "times": 1}])"));
  RawHttpResult r = get(proxy, "/b/small");
  EXPECT_EQ(r.status, 301);
  EXPECT_NE(r.body.find("<Code>PermanentRedirect</Code>"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("<Region>eu-west-1</Region>"), std::string::npos) << r.body;
  EXPECT_EQ(r.header("x-amz-bucket-region"), "eu-west-1");
  // times: 1 — the next wrongly signed request is forwarded.
  EXPECT_EQ(get(proxy, "/b/small").status, 200);
}

TEST_F(FaultProxyTest, DelayHoldsTheResponse) {
  FaultProxy proxy(*s3, json::parse(R"([{"fault": "delay", "ms": 400, "times": 1},
                                        {"fault": "delay", "ms": 5000, "times": 1},
                                        {"fault": "delay", "ms": 5000, "after_bytes": 50}])"));
  RawHttpResult slow = get(proxy, "/b/big");
  EXPECT_EQ(slow.status, 200);
  EXPECT_EQ(slow.body, big);
  EXPECT_GE(slow.elapsed, 400ms);

  RawHttpResult timed_out = get(proxy, "/b/big", {}, "us-east-1", 300ms);
  EXPECT_EQ(timed_out.end, RawHttpResult::End::kTimeout);
  EXPECT_TRUE(timed_out.raw.empty());

  RawHttpResult stalled = get(proxy, "/b/big", {}, "us-east-1", 300ms);
  EXPECT_EQ(stalled.end, RawHttpResult::End::kTimeout);
  EXPECT_EQ(stalled.status, 200);
  EXPECT_EQ(stalled.body, big.substr(0, 50));

  auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].action, "delay");
  EXPECT_EQ(seen[1].rule, 1);
  EXPECT_EQ(seen[2].rule, 2);
  EXPECT_EQ(seen[2].status, 200);
}

TEST_F(FaultProxyTest, MatchByMethodPathPrefixQueryAndSkip) {
  FaultProxy proxy(*s3, json::parse(R"([
      {"fault": "error", "status": 403, "code": "AccessDenied", "message": "no",
       "method": "PUT", "path": "/b/k1"},
      {"fault": "internal_error", "query": "list-type=2", "times": -1},
      {"fault": "slow_down", "path_prefix": "/b/sm", "skip": 1}])"));
  auto put = [&](const std::string& target) {
    return raw_http_exchange(
        proxy.port(), s3_style_request("PUT", target, proxy.port(), "us-east-1", {}, "x"), 10s);
  };
  EXPECT_EQ(get(proxy, "/b/k1").status, 404);  // GET: forwarded (no such key)
  EXPECT_EQ(put("/b/k2").status, 200);
  RawHttpResult denied = put("/b/k1");
  EXPECT_EQ(denied.status, 403);
  EXPECT_NE(denied.body.find("<Code>AccessDenied</Code>"), std::string::npos);
  EXPECT_EQ(get(proxy, "/b?list-type=2").status, 500);
  EXPECT_EQ(get(proxy, "/b?list-type=2&prefix=x").status, 500);
  EXPECT_EQ(get(proxy, "/b").status, 200);        // no query: not matched
  EXPECT_EQ(get(proxy, "/b/small").status, 200);  // skipped once
  EXPECT_EQ(get(proxy, "/b/small").status, 503);
  EXPECT_EQ(get(proxy, "/b/small").status, 200);

  std::vector<std::string> actions;
  for (const auto& r : proxy.requests()) actions.push_back(r.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"forward", "forward", "error", "internal_error",
                                               "internal_error", "forward", "forward", "slow_down",
                                               "forward"}));
}

TEST_F(FaultProxyTest, AnUnreachableUpstreamIsA502AndRecorded) {
  FaultProxy proxy(*s3, json::array());
  s3->stop();
  RawHttpResult r = get(proxy, "/b/small");
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("<Code>BadGateway</Code>"), std::string::npos) << r.body;
  ASSERT_EQ(proxy.requests().size(), 1u);
  EXPECT_EQ(proxy.requests()[0].action, "upstream_error");
}

TEST_F(FaultProxyTest, InvalidPlanFailsTheStartWithTheReason) {
  try {
    FaultProxy proxy(*s3, json::parse(R"([{"fault": "explode"}])"));
    FAIL() << "the proxy accepted an unknown fault";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("fault must be one of"), std::string::npos) << e.what();
  }
}

TEST(FaultProxyTls, HttpsProxyInFrontOfHttpsS3rver) {
  TestCa ca;
  S3Server s3({.buckets = {"b"}, .tls = ca.issue_server_cert()});
  s3.objects().put("b", "k", "tls both ways");
  FaultProxy proxy({.upstream = s3.endpoint(),
                    .upstream_ca = ca.cert(),
                    .plan = json::parse(R"([{"fault": "slow_down"}])"),
                    .tls = ca.issue_server_cert()});
  EXPECT_EQ(proxy.endpoint().rfind("https://127.0.0.1:", 0), 0u);
  S3Objects via({.endpoint = proxy.endpoint(), .ca_bundle = ca.cert(), .attempts = 2});
  EXPECT_EQ(via.get("b", "k"), "tls both ways");
  ASSERT_EQ(proxy.requests().size(), 2u);
  EXPECT_EQ(proxy.requests()[0].action, "slow_down");
}

TEST(FaultProxyCleanup, NothingSurvivesTheProxy) {
  S3Server s3;
  pid_t proxy_pid = 0;
  {
    FaultProxy proxy(s3, json::array());
    proxy_pid = proxy.pid();
    ASSERT_TRUE(pid_exists(proxy_pid));
  }
  EXPECT_FALSE(pid_exists(proxy_pid));
  EXPECT_FALSE(process_group_alive(proxy_pid));
}

}  // namespace
}  // namespace smrun::test
