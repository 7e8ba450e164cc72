#pragma once

// A deliberately dumb HTTP/1.1 exchange over plain TCP on loopback, for checking the test
// servers themselves (the fault proxy's resets, delays and error bodies) without any HTTP
// library in between: send the request bytes, read until the server closes, resets, or the
// bounded time runs out, and report exactly which of those happened and how many bytes came.

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace smrun::test {

struct RawHttpResult {
  enum class End { kEof, kReset, kTimeout, kError };
  End end = End::kError;
  int error_number = 0;  // errno of kReset/kError
  std::string raw;       // every byte received
  std::chrono::milliseconds elapsed{0};

  // Parsed from `raw` (status 0 when no complete header block arrived).
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // bytes after the header block

  std::optional<std::string> header(const std::string& lower_name) const;
};

const char* raw_http_end_name(RawHttpResult::End end);

// Connects to 127.0.0.1:port, sends `request` verbatim, reads until EOF, reset or `timeout`.
RawHttpResult raw_http_exchange(std::uint16_t port, const std::string& request,
                                std::chrono::milliseconds timeout);

// "METHOD target HTTP/1.1" with Host, Connection: close, Content-Length (when there is a body),
// x-amz-date (now), x-amz-content-sha256 of the body, and — unless `region` is empty — a SigV4
// Authorization header with a credential scope for `region`. The signature is fake: s3rver does
// not check SigV4 signatures (it checks the access key, the date and that the header is
// well-formed), and the proxy only reads the scope.
std::string s3_style_request(const std::string& method, const std::string& target,
                             std::uint16_t port, const std::string& region = "us-east-1",
                             const std::map<std::string, std::string>& extra_headers = {},
                             const std::string& body = "");

}  // namespace smrun::test
