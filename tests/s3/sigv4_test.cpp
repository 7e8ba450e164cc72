// SigV4 against AWS's published cases: the Signature Version 4 test suite and the S3 API
// Reference's worked examples. Every expected value below is AWS's, not computed by this code.

#include "smrun/s3/sigv4.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace smrun::s3 {
namespace {

using namespace std::chrono;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

system_clock::time_point utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return sys_days(year(y) / month(mo) / day(d)) + hours(h) + minutes(mi) + seconds(s);
}

std::string header(const SignedRequest& signed_request, const std::string& name) {
  for (const auto& [k, v] : signed_request.headers)
    if (k == name) return v;
  return "<absent>";
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.starts_with(prefix);
}

int count(const SignedRequest& signed_request, const std::string& name) {
  int n = 0;
  for (const auto& [k, v] : signed_request.headers) n += k == name;
  return n;
}

// ---------------------------------------------------------------------------------------------
// The Signature Version 4 test suite, "aws-sig-v4-test-suite", published with the SigV4
// documentation: https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html
// (the same cases, with a few additions, are in awslabs/aws-c-auth under
// tests/aws-signing-test-suite/v4/). Every case: AKIDEXAMPLE /
// wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, us-east-1, service "service", 20150830T123600Z,
// Host example.amazonaws.com; the expected values are each case's .authz / signature file.

struct SuiteCase {
  const char* name;
  const char* method;
  std::string canonical_uri;
  Headers query;
  Headers headers;  // besides Host
  std::string payload_sha256;
  std::string session_token;
  const char* signed_headers;
  const char* signature;
};

const SigningCredentials kSuiteKeys{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
constexpr const char* kStsToken =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSP"
    "fIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7"
    "WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8F"
    "DrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
constexpr const char* kFormBodySha256 =
    "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";  // "Param1=value1"
const std::string kUnreserved =
    "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

std::vector<SuiteCase> suite_cases() {
  return {
      {"get-vanilla",
       "GET",
       "/",
       {},
       {},
       kEmptySha256,
       "",
       "host;x-amz-date",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"get-vanilla-query-order-key-case",
       "GET",
       "/",
       {{"Param2", "value2"}, {"Param1", "value1"}},
       {},
       kEmptySha256,
       "",
       "host;x-amz-date",
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
      {"get-vanilla-empty-query-key",
       "GET",
       "/",
       {{"Param1", "value1"}},
       {},
       kEmptySha256,
       "",
       "host;x-amz-date",
       "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
      {"get-vanilla-query-unreserved",
       "GET",
       "/",
       {{kUnreserved, kUnreserved}},
       {},
       kEmptySha256,
       "",
       "host;x-amz-date",
       "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
      {"get-vanilla-utf8-query",
       "GET",
       "/",
       {{"\xE1\x88\xB4", "bar"}},
       {},
       kEmptySha256,
       "",
       "host;x-amz-date",
       "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
      {"get-header-value-trim",
       "GET",
       "/",
       {},
       {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
       kEmptySha256,
       "",
       "host;my-header1;my-header2;x-amz-date",
       "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
      {"get-header-key-duplicate",
       "GET",
       "/",
       {},
       {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}},
       kEmptySha256,
       "",
       "host;my-header1;x-amz-date",
       "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
      {"get-header-value-order",
       "GET",
       "/",
       {},
       {{"My-Header1", "value4"},
        {"My-Header1", "value1"},
        {"My-Header1", "value3"},
        {"My-Header1", "value2"}},
       kEmptySha256,
       "",
       "host;my-header1;x-amz-date",
       "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
      {"get-header-value-multiline",
       "GET",
       "/",
       {},
       {{"My-Header1", "value1\n  value2\n     value3"}},
       kEmptySha256,
       "",
       "host;my-header1;x-amz-date",
       "cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd"},
      {"get-utf8",
       "GET",
       uri_encode("/\xE1\x88\xB4", false),
       {},
       {},
       kEmptySha256,
       "",
       "host;x-amz-date",
       "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
      {"get-space (unnormalized)",
       "GET",
       uri_encode("/example space/", false),
       {},
       {},
       kEmptySha256,
       "",
       "host;x-amz-date",
       "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
      {"get-unreserved",
       "GET",
       uri_encode("/" + kUnreserved, false),
       {},
       {},
       kEmptySha256,
       "",
       "host;x-amz-date",
       "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
      {"get-vanilla-with-session-token",
       "GET",
       "/",
       {},
       {},
       kEmptySha256,
       "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
       "host;x-amz-date;x-amz-security-token",
       "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"},
      {"post-vanilla",
       "POST",
       "/",
       {},
       {},
       kEmptySha256,
       "",
       "host;x-amz-date",
       "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
      {"post-vanilla-query",
       "POST",
       "/",
       {{"Param1", "value1"}},
       {},
       kEmptySha256,
       "",
       "host;x-amz-date",
       "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
      {"post-header-key-sort",
       "POST",
       "/",
       {},
       {{"My-Header1", "value1"}},
       kEmptySha256,
       "",
       "host;my-header1;x-amz-date",
       "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
      {"post-header-value-case",
       "POST",
       "/",
       {},
       {{"My-Header1", "VALUE1"}},
       kEmptySha256,
       "",
       "host;my-header1;x-amz-date",
       "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
      {"post-sts-header-before",
       "POST",
       "/",
       {},
       {},
       kEmptySha256,
       kStsToken,
       "host;x-amz-date;x-amz-security-token",
       "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
      {"post-x-www-form-urlencoded",
       "POST",
       "/",
       {},
       {{"Content-Type", "application/x-www-form-urlencoded"}},
       kFormBodySha256,
       "",
       "content-type;host;x-amz-date",
       "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
      // The aws-c-auth edition of these two signs the body hash header and Content-Length too.
      {"post-x-www-form-urlencoded (signed body)",
       "POST",
       "/",
       {},
       {{"Content-Type", "application/x-www-form-urlencoded"},
        {"Content-Length", "13"},
        {"X-Amz-Content-Sha256", kFormBodySha256}},
       kFormBodySha256,
       "",
       "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
       "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"},
      {"post-x-www-form-urlencoded-parameters (signed body)",
       "POST",
       "/",
       {},
       {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
        {"Content-Length", "13"},
        {"X-Amz-Content-Sha256", kFormBodySha256}},
       kFormBodySha256,
       "",
       "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
       "328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422"},
  };
}

SigningInput suite_input(const SuiteCase& c) {
  SigningInput in;
  in.method = c.method;
  in.canonical_uri = c.canonical_uri;
  in.query = c.query;
  in.headers = {{"Host", "example.amazonaws.com"}};
  in.headers.insert(in.headers.end(), c.headers.begin(), c.headers.end());
  in.payload_sha256 = c.payload_sha256;
  in.region = "us-east-1";
  in.service = "service";
  in.time = utc(2015, 8, 30, 12, 36, 0);
  return in;
}

TEST(SigV4Suite, EveryPublishedCaseSignsToItsPublishedAuthorization) {
  for (const SuiteCase& c : suite_cases()) {
    SCOPED_TRACE(c.name);
    SigningCredentials keys = kSuiteKeys;
    keys.session_token = c.session_token;
    const SignedRequest s = sign_request(suite_input(c), keys);
    EXPECT_EQ(s.signature, c.signature);
    EXPECT_EQ(header(s, "Authorization"),
              std::string("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                          "aws4_request, SignedHeaders=") +
                  c.signed_headers + ", Signature=" + c.signature);
    EXPECT_EQ(header(s, "x-amz-date"), "20150830T123600Z");
    // Not S3: no body hash header is added (the signed-body cases bring their own).
    EXPECT_EQ(count(s, "x-amz-content-sha256"), 0);
  }
}

TEST(SigV4Suite, CanonicalRequestAndStringToSignOfGetVanilla) {
  const SignedRequest s = sign_request(suite_input(suite_cases()[0]), kSuiteKeys);
  EXPECT_EQ(s.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
}

TEST(SigV4Suite, CanonicalFormsOfTrimmedDuplicateAndUtf8Cases) {
  const auto cases = suite_cases();
  const auto find = [&](std::string_view name) {
    for (const auto& c : cases)
      if (c.name == name) return c;
    ADD_FAILURE() << "no case " << name;
    return cases[0];
  };
  EXPECT_EQ(sign_request(suite_input(find("get-header-value-trim")), kSuiteKeys).canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
            "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" +
                std::string(kEmptySha256));
  EXPECT_EQ(
      sign_request(suite_input(find("get-header-key-duplicate")), kSuiteKeys).canonical_request,
      "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
      "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" +
          std::string(kEmptySha256));
  EXPECT_PRED2(
      starts_with,
      sign_request(suite_input(find("get-vanilla-utf8-query")), kSuiteKeys).canonical_request,
      "GET\n/\n%E1%88%B4=bar\nhost:");
  EXPECT_PRED2(starts_with,
               sign_request(suite_input(find("get-utf8")), kSuiteKeys).canonical_request,
               "GET\n/%E1%88%B4\n\nhost:");
}

TEST(SigV4Suite, SessionTokenIsSignedAndSent) {
  SigningCredentials keys = kSuiteKeys;
  keys.session_token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
  const SignedRequest s = sign_request(suite_input(suite_cases()[0]), keys);
  EXPECT_EQ(header(s, "x-amz-security-token"), keys.session_token);
  EXPECT_NE(s.canonical_request.find("\nx-amz-security-token:" + keys.session_token + "\n"),
            std::string::npos);
  // Never the secret, in any part of the result.
  for (const std::string& part : {s.canonical_request, s.string_to_sign, s.signature})
    EXPECT_EQ(part.find(keys.secret_access_key), std::string::npos);
  for (const auto& [name, value] : s.headers)
    EXPECT_EQ(value.find(keys.secret_access_key), std::string::npos) << name;
}

// ---------------------------------------------------------------------------------------------
// The S3 API Reference, "Signature Calculations for the Authorization Header: Transferring
// Payload in a Single Chunk", section "Examples: Signature Calculations":
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
// AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, us-east-1, 20130524T000000Z,
// bucket examplebucket (virtual-hosted style).

const SigningCredentials kS3Keys{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                 ""};

SigningInput s3_input(const char* method, std::string canonical_uri, Headers query, Headers headers,
                      std::string payload_sha256) {
  SigningInput in;
  in.method = method;
  in.canonical_uri = std::move(canonical_uri);
  in.query = std::move(query);
  in.headers = {{"Host", "examplebucket.s3.amazonaws.com"}};
  in.headers.insert(in.headers.end(), headers.begin(), headers.end());
  in.payload_sha256 = std::move(payload_sha256);
  in.region = "us-east-1";
  in.service = "s3";
  in.time = utc(2013, 5, 24, 0, 0, 0);
  return in;
}

TEST(SigV4S3Examples, GetObjectWithRange) {
  const SignedRequest s = sign_request(
      s3_input("GET", "/test.txt", {}, {{"Range", "bytes=0-9"}}, kEmptySha256), kS3Keys);
  EXPECT_EQ(
      s.canonical_request,
      "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(header(s, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(header(s, "x-amz-content-sha256"), kEmptySha256);
}

TEST(SigV4S3Examples, PutObject) {
  const std::string body = "Welcome to Amazon S3.";
  ASSERT_EQ(sha256_hex(body), "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  const SignedRequest s =
      sign_request(s3_input("PUT", "/" + uri_encode("test$file.text", false), {},
                            {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                             {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
                            sha256_hex(body)),
                   kS3Keys);
  EXPECT_PRED2(starts_with, s.canonical_request, "PUT\n/test%24file.text\n\ndate:");
  EXPECT_EQ(s.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  EXPECT_NE(header(s, "Authorization")
                .find("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;"
                      "x-amz-storage-class, "),
            std::string::npos);
}

TEST(SigV4S3Examples, GetBucketLifecycle) {
  const SignedRequest s =
      sign_request(s3_input("GET", "/", {{"lifecycle", ""}}, {}, kEmptySha256), kS3Keys);
  EXPECT_PRED2(starts_with, s.canonical_request, "GET\n/\nlifecycle=\nhost:");
  EXPECT_EQ(s.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4S3Examples, ListObjects) {
  const SignedRequest s = sign_request(
      s3_input("GET", "/", {{"prefix", "J"}, {"max-keys", "2"}}, {}, kEmptySha256), kS3Keys);
  EXPECT_PRED2(starts_with, s.canonical_request, "GET\n/\nmax-keys=2&prefix=J\nhost:");
  EXPECT_EQ(s.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

// ---------------------------------------------------------------------------------------------
// Building blocks.

// The derived keys of the IAM example in "Examples of how to derive a signing key for Signature
// Version 4" (https://docs.aws.amazon.com/general/latest/gr/signature-v4-examples.html) and its
// older edition (20120215).
TEST(SigV4Parts, SigningKeyOfThePublishedDerivationExamples) {
  EXPECT_EQ(hex_encode(signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830",
                                   "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  EXPECT_EQ(hex_encode(signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                   "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4Parts, Sha256AndHmacKnownAnswers) {
  EXPECT_EQ(sha256_hex(""), kEmptySha256);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231, test case 2.
  EXPECT_EQ(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_sha256("", "").size(), 32u);
}

TEST(SigV4Parts, UriEncode) {
  EXPECT_EQ(uri_encode("a b+c=d~e_f.g-h/i", false), "a%20b%2Bc%3Dd~e_f.g-h/i");
  EXPECT_EQ(uri_encode("a/b", true), "a%2Fb");
  EXPECT_EQ(uri_encode("\xC3\xA9\xFF", true), "%C3%A9%FF");
  EXPECT_EQ(uri_encode("*!'()%$&,;:@?#[]", true),
            "%2A%21%27%28%29%25%24%26%2C%3B%3A%40%3F%23%5B%5D");
  EXPECT_EQ(uri_encode("", true), "");
}

TEST(SigV4Parts, AmzDateIsUtcAndDropsSubseconds) {
  EXPECT_EQ(amz_date(utc(2015, 8, 30, 12, 36, 0) + milliseconds(999)), "20150830T123600Z");
  EXPECT_EQ(amz_date(utc(1999, 12, 31, 23, 59, 59)), "19991231T235959Z");
  EXPECT_EQ(amz_date(system_clock::time_point{}), "19700101T000000Z");
}

TEST(SigV4Behaviour, HeadersSignRequestOwnsAreReplacedNotDuplicated) {
  SigningInput in = s3_input("GET", "/k", {},
                             {{"X-Amz-Date", "19990101T000000Z"},
                              {"authorization", "stale"},
                              {"X-Amz-Content-SHA256", "stale"},
                              {"X-Amz-Security-Token", "stale"}},
                             kEmptySha256);
  SigningCredentials keys = kS3Keys;
  keys.session_token = "tok";
  const SignedRequest s = sign_request(in, keys);
  EXPECT_EQ(s.headers.size(), 5u);  // Host + the four sign_request owns
  EXPECT_EQ(header(s, "x-amz-date"), "20130524T000000Z");
  EXPECT_EQ(header(s, "x-amz-content-sha256"), kEmptySha256);
  EXPECT_EQ(header(s, "x-amz-security-token"), "tok");
  EXPECT_EQ(s.canonical_request.find("stale"), std::string::npos);
  EXPECT_EQ(count(s, "Authorization"), 1);
}

TEST(SigV4Behaviour, UnsignedPayloadAndEmptyPayloadHash) {
  const SignedRequest unsigned_payload =
      sign_request(s3_input("PUT", "/k", {}, {}, "UNSIGNED-PAYLOAD"), kS3Keys);
  EXPECT_EQ(header(unsigned_payload, "x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
  EXPECT_TRUE(unsigned_payload.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
  // An empty payload_sha256 means the empty body.
  EXPECT_EQ(sign_request(s3_input("GET", "/test.txt", {}, {{"Range", "bytes=0-9"}}, ""), kS3Keys)
                .signature,
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  // An empty canonical URI is "/".
  EXPECT_EQ(
      sign_request(s3_input("GET", "", {{"lifecycle", ""}}, {}, kEmptySha256), kS3Keys).signature,
      "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4Behaviour, EveryInputChangesTheSignature) {
  const SigningInput base = s3_input("GET", "/test.txt", {}, {{"Range", "bytes=0-9"}}, "");
  const std::string reference = sign_request(base, kS3Keys).signature;
  SigningCredentials wrong_secret = kS3Keys;
  wrong_secret.secret_access_key.back() = 'X';
  EXPECT_NE(sign_request(base, wrong_secret).signature, reference);
  SigningInput other = base;
  other.region = "us-west-2";
  EXPECT_NE(sign_request(other, kS3Keys).signature, reference);
  other = base;
  other.time += seconds(1);
  EXPECT_NE(sign_request(other, kS3Keys).signature, reference);
  other = base;
  other.canonical_uri = "/test.txT";
  EXPECT_NE(sign_request(other, kS3Keys).signature, reference);
  other = base;
  other.headers[1].second = "bytes=0-10";
  EXPECT_NE(sign_request(other, kS3Keys).signature, reference);
  other = base;
  other.query = {{"versionId", "1"}};
  EXPECT_NE(sign_request(other, kS3Keys).signature, reference);
}

}  // namespace
}  // namespace smrun::s3
