#include "s3/support/raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <ctime>

namespace smrun::test {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

void parse(RawHttpResult& r) {
  auto end = r.raw.find("\r\n\r\n");
  if (end == std::string::npos) return;
  std::string head = r.raw.substr(0, end);
  r.body = r.raw.substr(end + 4);
  std::size_t pos = head.find("\r\n");
  std::string status_line = head.substr(0, pos);
  auto sp = status_line.find(' ');
  if (sp != std::string::npos) r.status = std::atoi(status_line.c_str() + sp + 1);
  while (pos != std::string::npos) {
    std::size_t next = head.find("\r\n", pos + 2);
    std::string line =
        head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      r.headers[lower(line.substr(0, colon))] = line.substr(v);
    }
    pos = next;
  }
}

}  // namespace

std::optional<std::string> RawHttpResult::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

const char* raw_http_end_name(RawHttpResult::End end) {
  switch (end) {
    case RawHttpResult::End::kEof:
      return "eof";
    case RawHttpResult::End::kReset:
      return "reset";
    case RawHttpResult::End::kTimeout:
      return "timeout";
    case RawHttpResult::End::kError:
      return "error";
  }
  return "?";
}

RawHttpResult raw_http_exchange(std::uint16_t port, const std::string& request,
                                std::chrono::milliseconds timeout) {
  RawHttpResult r;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + timeout;
  auto left_ms = [&] {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    return left < 0 ? 0 : static_cast<int>(left);
  };
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    r.error_number = errno;
    if (fd >= 0) close(fd);
    return r;
  }
  for (std::size_t sent = 0; sent < request.size();) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      r.error_number = errno;
      r.end = errno == ECONNRESET || errno == EPIPE ? RawHttpResult::End::kReset
                                                    : RawHttpResult::End::kError;
      close(fd);
      return r;
    }
    sent += static_cast<std::size_t>(n);
  }
  char buf[65536];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int n = poll(&p, 1, left_ms());
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      r.end = RawHttpResult::End::kTimeout;
      break;
    }
    ssize_t got = recv(fd, buf, sizeof(buf), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got > 0) {
      r.raw.append(buf, static_cast<std::size_t>(got));
      continue;
    }
    if (got == 0) {
      r.end = RawHttpResult::End::kEof;
    } else {
      r.error_number = errno;
      r.end = errno == ECONNRESET ? RawHttpResult::End::kReset : RawHttpResult::End::kError;
    }
    break;
  }
  close(fd);
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  parse(r);
  return r;
}

std::string s3_style_request(const std::string& method, const std::string& target,
                             std::uint16_t port, const std::string& region,
                             const std::map<std::string, std::string>& extra_headers,
                             const std::string& body) {
  char amz_date[32];
  char day[16];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
  std::strftime(day, sizeof(day), "%Y%m%d", &tm);
  std::string req = method + " " + target + " HTTP/1.1\r\n";
  req += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  req += "Connection: close\r\n";
  req += std::string("x-amz-date: ") + amz_date + "\r\n";
  req += "x-amz-content-sha256: " + sha256_hex(body) + "\r\n";
  if (!region.empty())
    req += std::string("Authorization: AWS4-HMAC-SHA256 Credential=S3RVER/") + day + "/" + region +
           "/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
           "Signature=0000000000000000000000000000000000000000000000000000000000000000\r\n";
  for (const auto& [k, v] : extra_headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "PUT" || method == "POST")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n";
  req += body;
  return req;
}

}  // namespace smrun::test
