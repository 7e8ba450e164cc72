#pragma once

// s3://bucket/key URLs (what sagemaker_submit_directory and sagemaker_s3_output hold).

#include <string>
#include <string_view>

#include "smrun/base/expected.hpp"

namespace smrun::s3 {

struct ObjectUrl {
  std::string bucket;
  std::string key;  // without a leading '/'; may be empty for a prefix such as s3://bucket

  std::string str() const;  // "s3://bucket/key"
  // This URL as a prefix with `relative` appended ("a/b" + "c/d" -> "a/b/c/d"; no doubled '/').
  ObjectUrl join(std::string_view relative) const;
};

// Parses "s3://bucket/key" (scheme case-insensitive). The bucket must be a valid S3 bucket name
// (3-63 characters of a-z, 0-9, '.', '-'; legacy upper case and '_' accepted); the key is taken
// verbatim (no percent-decoding: S3 keys are literal). Errors are kCode and name the URL and
// what was expected.
base::Expected<ObjectUrl> parse_object_url(std::string_view url);

bool is_s3_url(std::string_view text);  // starts with "s3://", case-insensitive

}  // namespace smrun::s3
