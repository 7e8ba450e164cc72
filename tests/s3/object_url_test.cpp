#include "smrun/s3/object_url.hpp"

#include <gtest/gtest.h>

namespace smrun::s3 {
namespace {

TEST(ObjectUrl, ParsesBucketAndKeyVerbatim) {
  auto url = parse_object_url("s3://sm-test/job 1/source/sourcedir.tar.gz");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->bucket, "sm-test");
  EXPECT_EQ(url->key, "job 1/source/sourcedir.tar.gz");
  EXPECT_EQ(url->str(), "s3://sm-test/job 1/source/sourcedir.tar.gz");
}

TEST(ObjectUrl, SchemeIsCaseInsensitiveAndKeyKeepsPercentSigns) {
  auto url = parse_object_url("S3://bucket.with.dots/a%20b+c");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->bucket, "bucket.with.dots");
  EXPECT_EQ(url->key, "a%20b+c");
}

TEST(ObjectUrl, BucketOnlyHasEmptyKey) {
  auto url = parse_object_url("s3://my-bucket");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->key, "");
  EXPECT_EQ(url->str(), "s3://my-bucket");
}

TEST(ObjectUrl, JoinAddsExactlyOneSlash) {
  ObjectUrl prefix{"b", "out/"};
  EXPECT_EQ(prefix.join("/job/output/intermediate/x.txt").key, "out/job/output/intermediate/x.txt");
  EXPECT_EQ((ObjectUrl{"b", "out"}.join("job/a")).key, "out/job/a");
  EXPECT_EQ((ObjectUrl{"b", ""}.join("job/a")).key, "job/a");
}

TEST(ObjectUrl, RejectsWithOneLineNamingTheUrl) {
  auto missing = parse_object_url("s3:///key");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "invalid S3 URL 's3:///key': no bucket name (expected s3://bucket/key)");
  EXPECT_EQ(missing.error().kind, base::ErrorKind::kCode);
  auto bad = parse_object_url("s3://bad bucket/key");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("'bad bucket'"), std::string::npos);
  EXPECT_FALSE(parse_object_url("s3://ab/key"));
  EXPECT_FALSE(parse_object_url("https://bucket/key"));
  EXPECT_FALSE(parse_object_url(std::string("s3://bucket/a\nb")));
}

TEST(ObjectUrl, IsS3Url) {
  EXPECT_TRUE(is_s3_url("s3://x"));
  EXPECT_TRUE(is_s3_url("S3://x"));
  EXPECT_FALSE(is_s3_url("s3:/x"));
  EXPECT_FALSE(is_s3_url("/opt/ml/code"));
}

}  // namespace
}  // namespace smrun::s3
