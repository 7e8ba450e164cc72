#include "smrun/s3/s3_xml.hpp"

#include <gtest/gtest.h>

#include "smrun/s3/retry.hpp"

namespace smrun::s3 {
namespace {

TEST(S3Xml, ParsesErrorBodies) {
  auto e = parse_error_body(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AuthorizationHeaderMalformed</Code>"
      "<Message>the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message>"
      "<Region>eu-west-1</Region><RequestId>ABC123</RequestId></Error>");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "AuthorizationHeaderMalformed");
  EXPECT_EQ(e->message, "the region 'us-east-1' is wrong; expecting 'eu-west-1'");
  EXPECT_EQ(e->region, "eu-west-1");
  EXPECT_EQ(e->request_id, "ABC123");
  EXPECT_EQ(e->endpoint, "");
}

TEST(S3Xml, NonErrorDocumentsAreNotErrors) {
  EXPECT_FALSE(parse_error_body(""));
  EXPECT_FALSE(parse_error_body("not xml at all <"));
  EXPECT_FALSE(parse_error_body("<CompleteMultipartUploadResult/>"));
  // Entities are not expanded from outside (no DOCTYPE processing).
  auto e = parse_error_body(
      "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><Error><Code>&e;</Code></Error>");
  if (e) {
    EXPECT_EQ(e->code.find("root"), std::string::npos);
  }
}

TEST(S3Xml, UploadIdAndCompleteBody) {
  EXPECT_EQ(parse_upload_id("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                            "<UploadId>abc-123</UploadId></InitiateMultipartUploadResult>"),
            "abc-123");
  EXPECT_FALSE(parse_upload_id("<InitiateMultipartUploadResult/>"));
  EXPECT_EQ(complete_multipart_body({{1, "\"e1\""}, {2, "\"e&2\""}}),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>\"e&amp;2\"</ETag></Part>"
            "</CompleteMultipartUpload>");
}

TEST(Retry, BackoffIsJitteredWithinAnExponentialCeiling) {
  RetryPolicy policy;
  policy.base_delay = std::chrono::milliseconds(100);
  policy.max_delay = std::chrono::milliseconds(1000);
  std::mt19937_64 rng(42);
  for (int attempt = 1; attempt <= 8; ++attempt) {
    const long ceiling = std::min(1000L, 100L << (attempt - 1));
    long seen_max = 0;
    for (int i = 0; i < 200; ++i) {
      const auto d = backoff_delay(policy, attempt, rng).count();
      ASSERT_GE(d, 0);
      ASSERT_LE(d, ceiling);
      seen_max = std::max<long>(seen_max, d);
    }
    EXPECT_GT(seen_max, ceiling / 2) << "attempt " << attempt;  // really spread, not constant
  }
}

TEST(Retry, RetryableAnswers) {
  EXPECT_TRUE(is_retryable_status(503, "SlowDown"));
  EXPECT_TRUE(is_retryable_status(500, "InternalError"));
  EXPECT_TRUE(is_retryable_status(400, "RequestTimeout"));
  EXPECT_TRUE(is_retryable_status(502, ""));
  EXPECT_FALSE(is_retryable_status(404, "NoSuchKey"));
  EXPECT_FALSE(is_retryable_status(403, "AccessDenied"));
  EXPECT_FALSE(is_retryable_status(403, "SignatureDoesNotMatch"));
}

}  // namespace
}  // namespace smrun::s3
