#pragma once

// AWS Signature Version 4 (header-based), over OpenSSL's SHA-256 and HMAC. Pure functions: the
// caller supplies the time, so results can be compared with AWS's published cases and botocore.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smrun::s3 {

struct SigningCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
};

struct SigningInput {
  std::string method;         // "GET"
  std::string canonical_uri;  // already URI-encoded path, e.g. "/bucket/my%20key" ("/" if empty)
  // Query parameters, NOT encoded; they are encoded (RFC 3986 unreserved kept) and sorted.
  std::vector<std::pair<std::string, std::string>> query;
  // Every header to sign (Host included; x-amz-date, x-amz-content-sha256 and
  // x-amz-security-token are added by sign_request). Names case-insensitive; values trimmed and
  // inner runs of whitespace collapsed for the canonical form; a name given more than once is
  // signed as its values joined by ',' in the given order. Given x-amz-date and Authorization
  // headers are replaced, and so are x-amz-content-sha256 (service "s3") and x-amz-security-token
  // (when the credentials have a session token).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_sha256;  // hex, or "UNSIGNED-PAYLOAD" (empty: the hash of an empty body)
  std::string region;          // "us-east-1"
  std::string service = "s3";
  std::chrono::system_clock::time_point time;
};

struct SignedRequest {
  // Headers to send: the input headers plus x-amz-date, x-amz-content-sha256 (S3 only),
  // x-amz-security-token (when a session token is present) and Authorization.
  std::vector<std::pair<std::string, std::string>> headers;
  // For tests and debug logs. Never contains the secret key, but does contain the session token
  // (x-amz-security-token is a signed header): redact it before logging.
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;  // hex
};

SignedRequest sign_request(const SigningInput& input, const SigningCredentials& credentials);

// The derived key: HMAC chain "AWS4" + secret -> date (YYYYMMDD) -> region -> service ->
// "aws4_request". Raw 32 bytes.
std::string signing_key(std::string_view secret_access_key, std::string_view date,
                        std::string_view region, std::string_view service);

std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string hex_encode(std::string_view bytes);                        // lower case

// RFC 3986 percent-encoding as SigV4 wants it: A-Z a-z 0-9 - _ . ~ kept; '/' kept unless
// `encode_slash`; everything else as %XX (upper-case hex) of its UTF-8 bytes.
std::string uri_encode(std::string_view text, bool encode_slash);

// "20150830T123600Z" for the x-amz-date header (UTC).
std::string amz_date(std::chrono::system_clock::time_point time);

}  // namespace smrun::s3
