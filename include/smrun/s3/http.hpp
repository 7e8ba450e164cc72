#pragma once

// One HTTP/1.1 connection (plain or TLS with certificate verification always on), on
// Boost.Beast + OpenSSL. Not thread-safe: use one client per thread. Keeps the connection alive
// between requests to the same host and reconnects when the server closed it.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smrun/base/expected.hpp"

namespace smrun::s3 {

// http(s)://host[:port][/path?query]. The target is kept exactly as given ("/" if empty).
struct HttpUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // name or address; IPv6 without brackets
  std::uint16_t port = 0;
  std::string target;  // path + query, as sent on the request line

  bool tls() const { return scheme == "https"; }
  std::string authority() const;  // "host" or "host:port" when the port is not the default
  std::string str() const;
};

base::Expected<HttpUrl> parse_http_url(std::string_view url);

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  HttpUrl url;
  HttpHeaders headers;  // Host, Content-Length and User-Agent are added by the client
  std::string body;
  // Called once the status line and headers of a 2xx answer are in, before its body streams.
  std::function<void(int status, const HttpHeaders& headers)> on_headers;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;  // empty when a BodySink took it

  // Case-insensitive; nullopt when absent.
  std::optional<std::string> header(std::string_view name) const;
};

// Why a request got no HTTP answer. Every kind but kTls and kBadUrl is worth retrying.
struct TransportError {
  enum class Kind { kResolve, kConnect, kTls, kTimeout, kReset, kProtocol, kBadUrl, kSink };
  Kind kind = Kind::kProtocol;
  std::string message;      // one line: what failed, against which host:port
  std::uint64_t bytes = 0;  // body bytes delivered to the sink before the failure
};

const char* transport_error_kind_name(TransportError::Kind kind);

// Receives a 2xx response body as it arrives; a failed status ends the transfer (kSink).
// Non-2xx bodies are never sent to the sink: they are collected into HttpResponse::body.
using BodySink = std::function<base::Status(std::string_view chunk)>;

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds io_timeout{60'000};  // no byte for this long: kTimeout
  // PEM bundle of trusted CAs; empty: find the system bundle (find_ca_bundle()).
  std::filesystem::path ca_bundle;
  std::string user_agent = "smrun";
  // When set, asked every 50 ms while a request waits on the network: true ends the request at
  // once (a transport error), so another thread can stop a transfer that is still making progress.
  std::function<bool()> abort;
};

// Where the system's trusted CA certificates are: AWS_CA_BUNDLE, then SSL_CERT_FILE, then the
// first existing of the Debian/Ubuntu, Amazon Linux/RHEL/Fedora, openSUSE and Alpine locations.
// `lookup` reads the environment. nullopt when none exists.
std::optional<std::filesystem::path> find_ca_bundle(
    const std::function<std::optional<std::string>(const std::string&)>& lookup);

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and reads the whole response. With a sink, a 2xx body streams into it.
  base::Expected<HttpResponse, TransportError> send(const HttpRequest& request,
                                                    const BodySink& sink = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace smrun::s3
