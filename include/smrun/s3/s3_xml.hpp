#pragma once

// The XML documents S3 sends and takes, through pugixml: error bodies, the multipart upload id,
// and the CompleteMultipartUpload request.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smrun::s3 {

struct S3ErrorBody {
  std::string code;        // "NoSuchKey"
  std::string message;     // S3's own sentence
  std::string region;      // <Region>, sent with AuthorizationHeaderMalformed / redirects
  std::string endpoint;    // <Endpoint>, sent with PermanentRedirect
  std::string request_id;  // <RequestId>
};

// nullopt when `body` is not an S3 <Error> document.
std::optional<S3ErrorBody> parse_error_body(std::string_view body);

// <InitiateMultipartUploadResult><UploadId>; nullopt if absent.
std::optional<std::string> parse_upload_id(std::string_view body);

// (part number, ETag as S3 returned it, quotes included) -> CompleteMultipartUpload document.
std::string complete_multipart_body(const std::vector<std::pair<int, std::string>>& parts);

}  // namespace smrun::s3
