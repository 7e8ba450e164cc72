// Fuzzes the URL parsers of the s3 area: s3://bucket/key (sagemaker_submit_directory,
// sagemaker_s3_output) and http(s)://host[:port]/path (S3_ENDPOINT_URL, credential endpoints),
// and the request address built from them.
//
// Invariants, for every input:
// - parsing never crashes; errors are one line that quotes the input's start;
// - an accepted s3 URL re-renders to itself (scheme lower-cased) and re-parses to the same parts;
// - an accepted http URL has a host, a port in 1..65535 and a target starting with '/', and
//   re-parsing its rendering gives the same host, port and target;
// - the address for any bucket/key pair is a path made only of URI-safe characters.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "smrun/s3/client_config.hpp"
#include "smrun/s3/http.hpp"
#include "smrun/s3/object_url.hpp"

namespace {

bool one_line(const std::string& text) {
  return text.find('\n') == std::string::npos;
}

bool uri_safe(std::string_view path) {
  for (char c : path) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~' || c == '/' || c == '%';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace smrun::s3;

  if (auto url = parse_object_url(text)) {
    FUZZ_CHECK(!url->bucket.empty(), "empty bucket accepted");
    const std::string rendered = url->str();
    auto again = parse_object_url(rendered);
    FUZZ_CHECK(again && again->bucket == url->bucket && again->key == url->key,
               "s3 URL does not round-trip: " + rendered);
    static const ClientConfig aws = [] {
      ClientConfig c;
      c.region = "us-east-1";
      return c;
    }();
    const RequestAddress a = address_for(aws, "us-east-1", url->bucket, url->key);
    FUZZ_CHECK(!a.canonical_uri.empty() && a.canonical_uri.front() == '/', a.canonical_uri);
    FUZZ_CHECK(uri_safe(a.canonical_uri), "unsafe path: " + a.canonical_uri);
    FUZZ_CHECK(a.url.target == a.canonical_uri, "target differs from the signed path");
  } else {
    FUZZ_CHECK(one_line(url.error().message) || text.find('\n') != std::string_view::npos,
               url.error().message);
  }

  if (auto http = parse_http_url(text)) {
    FUZZ_CHECK(!http->host.empty(), "empty host accepted");
    FUZZ_CHECK(http->port >= 1, "port 0 accepted");
    FUZZ_CHECK(!http->target.empty() && http->target.front() == '/', http->target);
    FUZZ_CHECK(http->scheme == "http" || http->scheme == "https", http->scheme);
    auto again = parse_http_url(http->str());
    FUZZ_CHECK(again && again->host == http->host && again->port == http->port &&
                   again->target == http->target,
               "http URL does not round-trip: " + http->str());
  }
  return 0;
}
