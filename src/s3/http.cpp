// HTTP/1.1 over Boost.Beast, TLS over OpenSSL through Boost.Asio's ssl::stream. Every operation
// is asynchronous underneath and driven to completion on the client's own io_context, so the
// tcp_stream's expiry gives every connect, write and read a timeout.

#include "smrun/s3/http.hpp"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <charconv>
#include <limits>
#include <vector>

#include "smrun/base/printable.hpp"

namespace smrun::s3 {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

base::Unexpected<base::Error> url_error(std::string_view url, std::string_view what) {
  return base::fail(
      base::ErrorKind::kConfig,
      fmt::format("invalid URL '{}': {} (expected http(s)://host[:port][/path])", url, what));
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

const char* transport_error_kind_name(TransportError::Kind kind) {
  switch (kind) {
    case TransportError::Kind::kResolve:
      return "name resolution failed";
    case TransportError::Kind::kConnect:
      return "connection failed";
    case TransportError::Kind::kTls:
      return "TLS failed";
    case TransportError::Kind::kTimeout:
      return "timed out";
    case TransportError::Kind::kReset:
      return "connection reset";
    case TransportError::Kind::kProtocol:
      return "malformed response";
    case TransportError::Kind::kBadUrl:
      return "bad URL";
    case TransportError::Kind::kSink:
      return "could not store the response";
  }
  return "transport error";
}

std::string HttpUrl::authority() const {
  const bool default_port = (tls() && port == 443) || (!tls() && port == 80);
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return default_port ? h : fmt::format("{}:{}", h, port);
}

std::string HttpUrl::str() const {
  return fmt::format("{}://{}{}", scheme, authority(), target);
}

base::Expected<HttpUrl> parse_http_url(std::string_view url) {
  HttpUrl out;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return url_error(url, "no scheme");
  const std::string_view scheme = url.substr(0, scheme_end);
  if (iequals(scheme, "https")) {
    out.scheme = "https";
    out.port = 443;
  } else if (iequals(scheme, "http")) {
    out.scheme = "http";
    out.port = 80;
  } else {
    return url_error(url, fmt::format("unsupported scheme '{}'", scheme));
  }
  std::string_view rest = url.substr(scheme_end + 3);
  const auto path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view target =
      path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);
  if (const auto hash = target.find('#'); hash != std::string_view::npos)
    target = target.substr(0, hash);
  if (authority.find('@') != std::string_view::npos)
    return url_error(url, "user information in URLs is not supported");
  std::string_view port_text;
  const bool bracketed = !authority.empty() && authority.front() == '[';
  if (bracketed) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return url_error(url, "unterminated IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return url_error(url, "junk after the IPv6 address");
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return url_error(url, "no host");
  if (bracketed) {
    boost::system::error_code ec;
    asio::ip::make_address_v6(out.host, ec);
    if (ec) return url_error(url, "the bracketed host is not an IPv6 address");
  } else {
    for (char c : out.host)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'))
        return url_error(url, "the host may only have letters, digits, '-', '.' and '_'");
  }
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || value == 0 ||
        value > 65535)
      return url_error(url, fmt::format("invalid port '{}'", port_text));
    out.port = static_cast<std::uint16_t>(value);
  }
  out.target = target.empty() ? "/" : std::string(target);
  if (out.target.front() == '?') out.target.insert(out.target.begin(), '/');
  for (char c : out.target)
    if (std::iscntrl(static_cast<unsigned char>(c)) || c == ' ')
      return url_error(url, "the path has spaces or control characters");
  return out;
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return std::nullopt;
}

std::optional<std::filesystem::path> find_ca_bundle(
    const std::function<std::optional<std::string>(const std::string&)>& lookup) {
  for (const char* name : {"AWS_CA_BUNDLE", "SSL_CERT_FILE"}) {
    if (auto value = lookup(name); value && !value->empty()) return std::filesystem::path(*value);
  }
  static constexpr std::array kKnown = {
      "/etc/ssl/certs/ca-certificates.crt",                 // Debian, Ubuntu, Alpine, Gentoo
      "/etc/pki/tls/certs/ca-bundle.crt",                   // Amazon Linux, RHEL, Fedora
      "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  // RHEL/Amazon Linux 2023
      "/etc/ssl/ca-bundle.pem",                             // openSUSE
      "/etc/ssl/cert.pem",                                  // Alpine, macOS-like layouts
  };
  std::error_code ec;
  for (const char* path : kKnown)
    if (std::filesystem::is_regular_file(path, ec)) return std::filesystem::path(path);
  return std::nullopt;
}

struct HttpClient::Impl {
  HttpOptions options;
  asio::io_context ioc;
  std::unique_ptr<asio::ssl::context> ssl_ctx;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  std::string connected_to;  // "https://host:port" of the open connection, "" if none
  beast::flat_buffer buffer;

  // Beast reads only up to the buffer's spare capacity (512 bytes when it is empty), so the
  // buffer is given room for large reads up front: 256 KiB per read instead of 512 bytes.
  static constexpr std::size_t kReadSize = 256 * 1024;
  std::vector<char> chunk = std::vector<char>(kReadSize);

  explicit Impl(HttpOptions o) : options(std::move(o)) { buffer.reserve(kReadSize); }

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  void close() {
    if (plain || tls) {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      lowest().socket().close(ignored);
    }
    plain.reset();
    tls.reset();
    connected_to.clear();
    buffer.clear();
  }

  // Runs the operation `start` begins until its handler ran; returns the handler's error.
  template <class Start>
  beast::error_code run(Start&& start) {
    beast::error_code result = asio::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    if (!options.abort) {
      ioc.run();
      return result;
    }
    // In slices, so that abort() can end it: the operation then completes as cancelled.
    while (ioc.run_for(std::chrono::milliseconds(50)), !ioc.stopped())
      if (options.abort()) lowest().cancel();
    return result;
  }

  TransportError error(TransportError::Kind kind, const HttpUrl& url, std::string_view what,
                       const beast::error_code& ec = {}) const {
    TransportError e;
    e.kind = ec == beast::error::timeout ? TransportError::Kind::kTimeout : kind;
    e.message =
        ec ? fmt::format("{} {}: {}: {}", transport_error_kind_name(e.kind), url.authority(), what,
                         ec.message())
           : fmt::format("{} {}: {}", transport_error_kind_name(e.kind), url.authority(), what);
    return e;
  }

  base::Expected<void, TransportError> make_ssl_context(const HttpUrl& url) {
    if (ssl_ctx) return {};
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1);
    ctx->set_verify_mode(asio::ssl::verify_peer);
    beast::error_code ec;
    if (options.ca_bundle.empty()) {
      ctx->set_default_verify_paths(ec);
    } else {
      ctx->load_verify_file(options.ca_bundle.string(), ec);
    }
    if (ec)
      return base::Unexpected(error(
          TransportError::Kind::kTls, url,
          fmt::format("cannot load the CA bundle {}",
                      options.ca_bundle.empty() ? "(system default)" : options.ca_bundle.string()),
          ec));
    ssl_ctx = std::move(ctx);
    return {};
  }

  base::Expected<void, TransportError> connect(const HttpUrl& url) {
    const std::string key = fmt::format("{}://{}:{}", url.scheme, url.host, url.port);
    if (connected_to == key) return {};
    close();
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    const auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
    if (ec) return base::Unexpected(error(TransportError::Kind::kResolve, url, url.host, ec));

    if (url.tls()) {
      if (auto made = make_ssl_context(url); !made) return made;
      tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, *ssl_ctx);
    } else {
      plain = std::make_unique<beast::tcp_stream>(ioc);
    }
    lowest().expires_after(options.connect_timeout);
    ec = run([&](auto handler) { lowest().async_connect(endpoints, std::move(handler)); });
    if (ec) {
      close();
      return base::Unexpected(error(TransportError::Kind::kConnect, url, "connect", ec));
    }
    if (tls) {
      SSL* ssl = tls->native_handle();
      // Verify the certificate against the name (or the address) we connected to.
      if (is_ip_literal(url.host)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url.host.c_str());
      } else {
        SSL_set_tlsext_host_name(ssl, url.host.c_str());
        SSL_set1_host(ssl, url.host.c_str());
      }
      lowest().expires_after(options.io_timeout);
      ec = run([&](auto handler) {
        tls->async_handshake(asio::ssl::stream_base::client, std::move(handler));
      });
      if (ec) {
        std::string what = "handshake";
        if (const long verify = SSL_get_verify_result(ssl); verify != X509_V_OK)
          what = fmt::format("certificate verification failed ({})",
                             X509_verify_cert_error_string(verify));
        close();
        return base::Unexpected(error(TransportError::Kind::kTls, url, what, ec));
      }
    }
    connected_to = key;
    return {};
  }

  template <class Stream>
  base::Expected<HttpResponse, TransportError> exchange(Stream& stream, const HttpRequest& request,
                                                        const BodySink& sink, bool& got_bytes) {
    const HttpUrl& url = request.url;
    // The body is sent from the caller's string, not copied into the request (parts are
    // tens of MiB).
    bhttp::request<bhttp::span_body<char const>> req;
    req.method_string(request.method);
    req.target(url.target);
    req.version(11);
    req.set(bhttp::field::host, url.authority());
    req.set(bhttp::field::user_agent, options.user_agent);
    for (const auto& [k, v] : request.headers) req.set(k, v);
    req.body() = beast::span<char const>(request.body.data(), request.body.size());
    req.prepare_payload();
    if (request.method == "PUT" || request.method == "POST")
      req.set(bhttp::field::content_length, std::to_string(request.body.size()));

    lowest().expires_after(options.io_timeout);
    beast::error_code ec =
        run([&](auto handler) { bhttp::async_write(stream, req, std::move(handler)); });
    if (ec) return base::Unexpected(error(TransportError::Kind::kReset, url, "sending", ec));

    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (request.method == "HEAD") parser.skip(true);
    lowest().expires_after(options.io_timeout);
    ec = run([&](auto handler) {
      bhttp::async_read_header(stream, buffer, parser, std::move(handler));
    });
    if (ec) {
      const bool reset = ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
                         ec == asio::error::connection_reset || ec == beast::error::timeout ||
                         ec == asio::ssl::error::stream_truncated;
      return base::Unexpected(
          error(reset ? TransportError::Kind::kReset : TransportError::Kind::kProtocol, url,
                "reading the response", ec));
    }
    got_bytes = true;
    HttpResponse response;
    response.status = static_cast<int>(parser.get().result_int());
    for (const auto& field : parser.get())
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    const bool to_sink = sink && response.status >= 200 && response.status < 300;
    if (request.on_headers && response.status >= 200 && response.status < 300)
      request.on_headers(response.status, response.headers);

    std::uint64_t delivered = 0;
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      lowest().expires_after(options.io_timeout);
      // read_some: hand over what has arrived at once (progress, and a broken body keeps every
      // byte it delivered), instead of waiting for a full chunk.
      ec = run([&](auto handler) {
        bhttp::async_read_some(stream, buffer, parser, std::move(handler));
      });
      if (ec == bhttp::error::need_buffer) ec = {};
      const std::size_t n = chunk.size() - parser.get().body().size;
      if (n > 0) {
        if (to_sink) {
          if (auto stored = sink(std::string_view(chunk.data(), n)); !stored) {
            auto e = error(TransportError::Kind::kSink, url, stored.error().message);
            e.bytes = delivered;
            return base::Unexpected(std::move(e));
          }
          delivered += n;
        } else {
          response.body.append(chunk.data(), n);
        }
      }
      if (ec) {
        auto e = error(TransportError::Kind::kReset, url,
                       fmt::format("response body broken after {} bytes", delivered), ec);
        e.bytes = delivered;
        return base::Unexpected(std::move(e));
      }
    }
    if (!parser.get().keep_alive()) close();
    return response;
  }

  base::Expected<HttpResponse, TransportError> send_once(const HttpRequest& request,
                                                         const BodySink& sink, bool& got_bytes) {
    if (auto connected = connect(request.url); !connected)
      return base::Unexpected(std::move(connected).error());
    auto result =
        tls ? exchange(*tls, request, sink, got_bytes) : exchange(*plain, request, sink, got_bytes);
    if (!result) close();
    return result;
  }
};

HttpClient::HttpClient(HttpOptions options) : m_impl(std::make_unique<Impl>(std::move(options))) {}
HttpClient::~HttpClient() {
  if (m_impl) m_impl->close();
}

base::Expected<HttpResponse, TransportError> HttpClient::send(const HttpRequest& request,
                                                              const BodySink& sink) {
  const bool reused = !m_impl->connected_to.empty();
  bool got_bytes = false;
  auto result = m_impl->send_once(request, sink, got_bytes);
  // A kept-alive connection the server has closed meanwhile fails before any response byte:
  // that says nothing about the request, so it is sent once more on a new connection.
  if (!result && reused && !got_bytes && result.error().kind == TransportError::Kind::kReset)
    result = m_impl->send_once(request, sink, got_bytes);
  return result;
}

}  // namespace smrun::s3
