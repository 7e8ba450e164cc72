// Differential test: smrun's SigV4 against botocore's (Debian's python3-botocore, run as
// /usr/bin/python3 tests/s3/botocore_sign.py) on requests like those the S3 client sends:
// awkward keys, multipart query parameters, session tokens, ranges, x-amz-* headers.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "smrun/s3/sigv4.hpp"
#include "support/test_support.hpp"

namespace smrun::s3 {
namespace {

using namespace std::chrono;
using Pairs = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kPython = "/usr/bin/python3";

struct Case {
  std::string name;
  std::string method = "GET";
  std::string scheme = "https";
  std::string host = "examplebucket.s3.us-east-1.amazonaws.com";
  std::string path = "/";  // raw: encoded by each side on its own
  Pairs query;
  Pairs headers;  // besides Host
  std::string body;
  bool unsigned_payload = false;
  std::string access_key = "AKIAIOSFODNN7EXAMPLE";
  std::string secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  std::string token;
  std::string region = "us-east-1";
  std::string service = "s3";
  std::string time = "20130524T000000Z";
};

constexpr const char* kToken =
    "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexample+token/with=padding==";

std::vector<Case> cases() {
  std::vector<Case> out;
  const auto add = [&](Case c) { out.push_back(std::move(c)); };
  {
    Case c;
    c.name = "plain GET of a tarball";
    c.path = "/code/sourcedir.tar.gz";
    add(c);
  }
  {
    Case c;
    c.name = "spaces and parentheses, session token";
    c.path = "/my dir/my file (1).tar.gz";
    c.token = kToken;
    add(c);
  }
  {
    Case c;
    c.name = "unicode key, another region";
    c.host = "bucket.s3.eu-west-1.amazonaws.com";
    c.path = "/donn\xC3\xA9\x65s/\xC3\xA9\xE6\xBC\xA2\xE5\xAD\x97\xF0\x9F\x98\x80.py";
    c.region = "eu-west-1";
    c.time = "20231231T235959Z";
    add(c);
  }
  {
    Case c;
    c.name = "every reserved character, path-style dotted bucket";
    c.host = "s3.us-east-1.amazonaws.com";
    c.path = "/my.bucket/a+b=c~d&e?f#g%h!i*j'k(l)m,n;o:p@q$r[s]t|u\\v^w`x{y}z\"<>";
    add(c);
  }
  {
    Case c;
    c.name = "CreateMultipartUpload (uploads=)";
    c.method = "POST";
    c.path = "/out/model.tar.gz";
    c.query = {{"uploads", ""}};
    c.headers = {{"Content-Type", "application/gzip"}};
    c.token = kToken;
    add(c);
  }
  {
    Case c;
    c.name = "UploadPart";
    c.method = "PUT";
    c.path = "/out/model.tar.gz";
    c.query = {{"uploadId", "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA--~.x+y/z="},
               {"partNumber", "3"}};
    c.body = "hello part three";
    add(c);
  }
  {
    Case c;
    c.name = "CompleteMultipartUpload";
    c.method = "POST";
    c.path = "/out/model.tar.gz";
    c.query = {{"uploadId", "abc"}};
    c.headers = {{"Content-Type", "application/xml"}};
    c.body =
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag></Part>"
        "</CompleteMultipartUpload>";
    c.token = kToken;
    add(c);
  }
  {
    Case c;
    c.name = "ranged GET with If-Match and x-amz-* headers needing trimming";
    c.path = "/data/shard-00001.bin";
    c.headers = {{"Range", "bytes=1048576-2097151"},
                 {"If-Match", "\"9b2cf535f27731c974343645a3985328\""},
                 {"x-amz-request-payer", "requester"},
                 {"X-Amz-Meta-Note", "  two   spaces  inside "}};
    add(c);
  }
  {
    Case c;
    c.name = "ListObjectsV2 with awkward prefix and continuation token";
    c.path = "/";
    c.query = {{"list-type", "2"},
               {"prefix", "code/with space+plus/\xC3\xA9"},
               {"delimiter", "/"},
               {"continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="},
               {"max-keys", "1000"}};
    c.token = kToken;
    add(c);
  }
  {
    Case c;
    c.name = "repeated query name sorted by value";
    c.query = {{"tag", "b"}, {"tag", "a"}, {"Tag", "c"}};
    add(c);
  }
  {
    Case c;
    c.name = "unsigned payload PUT";
    c.method = "PUT";
    c.path = "/big/object";
    c.body = "streamed";
    c.unsigned_payload = true;
    c.token = kToken;
    add(c);
  }
  {
    Case c;
    c.name = "plain http with a port (S3-compatible endpoint)";
    c.scheme = "http";
    c.host = "127.0.0.1:9000";
    c.path = "/bucket/key with space";
    c.body = "x";
    c.method = "PUT";
    add(c);
  }
  {
    Case c;
    c.name = "another secret and key id";
    c.access_key = "ASIAZZZZZZZZZZZZZZZZ";
    c.secret_key = "abc+/=~def0123456789ABCDEFGHIJ/+klmnopqr";
    c.path = "/k";
    c.token = kToken;
    add(c);
  }
  {
    Case c;
    c.name = "not S3: STS GetCallerIdentity form POST";
    c.method = "POST";
    c.host = "sts.us-east-1.amazonaws.com";
    c.service = "sts";
    c.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    c.body = "Action=GetCallerIdentity&Version=2011-06-15";
    c.token = kToken;
    add(c);
  }
  return out;
}

system_clock::time_point parse_amz(const std::string& t) {
  const auto num = [&](std::size_t pos, std::size_t len) { return std::stoi(t.substr(pos, len)); };
  return sys_days(year(num(0, 4)) / month(num(4, 2)) / day(num(6, 2))) + hours(num(9, 2)) +
         minutes(num(11, 2)) + seconds(num(13, 2));
}

SignedRequest sign_with_smrun(const Case& c, const std::string& secret) {
  SigningInput in;
  in.method = c.method;
  in.canonical_uri = uri_encode(c.path, false);
  in.query = c.query;
  in.headers = {{"Host", c.host}};
  in.headers.insert(in.headers.end(), c.headers.begin(), c.headers.end());
  in.payload_sha256 = c.unsigned_payload ? "UNSIGNED-PAYLOAD" : sha256_hex(c.body);
  in.region = c.region;
  in.service = c.service;
  in.time = parse_amz(c.time);
  return sign_request(in, SigningCredentials{c.access_key, secret, c.token});
}

std::string header(const SignedRequest& s, const std::string& name) {
  for (const auto& [k, v] : s.headers)
    if (k == name) return v;
  return "<absent>";
}

bool python_has_botocore(std::string& why) {
  if (!std::filesystem::exists(kPython)) {
    why = std::string(kPython) + " does not exist";
    return false;
  }
  test::ProcessOptions probe;
  probe.argv = {kPython, "-c", "import botocore.auth, botocore.awsrequest, botocore.credentials"};
  const auto r = test::run_process(probe);
  if (r.exit_code != 0) {
    why = std::string(kPython) + " cannot import botocore (install python3-botocore): " + r.err;
    return false;
  }
  return true;
}

TEST(SigV4Botocore, AuthorizationHeadersMatchBotocoreExactly) {
  std::string why;
  if (!python_has_botocore(why)) {
    std::fprintf(stderr,
                 "\n*** SKIPPING the botocore differential test: %s ***\n"
                 "*** SigV4 is then only checked against AWS's published cases. ***\n\n",
                 why.c_str());
    GTEST_SKIP() << why;
  }
  const std::vector<Case> all = cases();
  nlohmann::json request = nlohmann::json::array();
  for (const Case& c : all)
    request.push_back({{"method", c.method},
                       {"scheme", c.scheme},
                       {"host", c.host},
                       {"path", c.path},
                       {"query", c.query},
                       {"headers", c.headers},
                       {"body", c.body},
                       {"unsigned_payload", c.unsigned_payload},
                       {"access_key", c.access_key},
                       {"secret_key", c.secret_key},
                       {"token", c.token},
                       {"region", c.region},
                       {"service", c.service},
                       {"time", c.time}});
  test::ProcessOptions run;
  run.argv = {kPython, (test::source_dir() / "tests/s3/botocore_sign.py").string()};
  run.stdin_data = request.dump();
  const auto result = test::run_process(run);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto answers = nlohmann::json::parse(result.out);
  ASSERT_EQ(answers.size(), all.size());

  for (std::size_t i = 0; i < all.size(); ++i) {
    const Case& c = all[i];
    const auto& theirs = answers[i];
    SCOPED_TRACE(c.name);
    const SignedRequest ours = sign_with_smrun(c, c.secret_key);
    const auto& their_headers = theirs["headers"];
    EXPECT_EQ(uri_encode(c.path, false), theirs["encoded_path"].get<std::string>());
    EXPECT_EQ(header(ours, "Authorization"), their_headers["authorization"].get<std::string>())
        << "smrun's canonical request:\n"
        << ours.canonical_request << "\n\nbotocore's:\n"
        << theirs["canonical_request"].get<std::string>();
    EXPECT_EQ(ours.canonical_request, theirs["canonical_request"].get<std::string>());
    EXPECT_EQ(header(ours, "x-amz-date"), their_headers["x-amz-date"].get<std::string>());
    if (c.service == "s3") {
      EXPECT_EQ(header(ours, "x-amz-content-sha256"),
                their_headers["x-amz-content-sha256"].get<std::string>());
    }
    if (!c.token.empty()) {
      EXPECT_EQ(header(ours, "x-amz-security-token"),
                their_headers["x-amz-security-token"].get<std::string>());
    } else {
      EXPECT_FALSE(their_headers.contains("x-amz-security-token"));
    }

    // A wrong secret (one character off) must not produce botocore's signature.
    std::string wrong = c.secret_key;
    wrong[wrong.size() / 2] = wrong[wrong.size() / 2] == 'A' ? 'B' : 'A';
    EXPECT_NE(header(sign_with_smrun(c, wrong), "Authorization"),
              their_headers["authorization"].get<std::string>());
  }
}

}  // namespace
}  // namespace smrun::s3
