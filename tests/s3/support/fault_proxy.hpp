#pragma once

// A fault-injecting HTTP proxy in front of an S3Server (tests/s3/support/fault_proxy.py under
// /usr/bin/python3), on 127.0.0.1 with a port the kernel picks. The fault plan is fixed at start;
// every request it saw is recorded (before its response is sent) and readable with requests().
//
//   S3Server s3({.buckets = {"b"}});
//   FaultProxy proxy(s3, R"([{"fault": "slow_down", "times": 2, "method": "GET"},
//                             {"fault": "reset", "after_bytes": 100, "range": false}])"_json);
//   ... point the client at proxy.endpoint() ...
//   auto seen = proxy.requests();
//   ASSERT_EQ(seen.size(), 4u);
//   EXPECT_EQ(seen[0].action, "slow_down");
//   EXPECT_EQ(seen[3].range, "bytes=100-");
//
// Plan rules (fields and semantics are documented at the top of fault_proxy.py):
//   {"fault": "slow_down" | "internal_error" | "expired_token", "times": N}   503/500/400 + XML
//   {"fault": "error", "status": 403, "code": "AccessDenied", "message": "..."}
//   {"fault": "reset", "after_bytes": K}          headers + K body bytes, then TCP RST
//   {"fault": "reset", "no_response": true}       RST before any byte of a response
//   {"fault": "wrong_region", "region": "eu-west-1", "style": "redirect" | "malformed"}
//   {"fault": "delay", "ms": T}  /  {"fault": "delay", "ms": T, "after_bytes": K}
// with optional "times" (default 1; wrong_region -1 = always), "skip", "method", "path",
// "path_prefix", "query", "range" (true/false: Range header present/absent).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "s3/support/s3_server.hpp"
#include "s3/support/service_process.hpp"
#include "s3/support/test_ca.hpp"
#include "support/test_support.hpp"

namespace smrun::test {

// One request as the proxy saw it.
struct ProxyRequest {
  int seq = 0;       // 1, 2, ... in arrival order
  long time_ms = 0;  // since the proxy started
  std::string method;
  std::string path;   // without the query, as sent (percent-encoding kept)
  std::string query;  // raw, without '?'
  std::optional<std::string> range;
  std::optional<std::string> access_key;        // from the SigV4 credential
  std::optional<std::string> credential_scope;  // "20260101/us-east-1/s3/aws4_request"
  std::optional<std::string> region;            // the scope's region
  std::optional<std::string> security_token;    // x-amz-security-token
  std::map<std::string, std::string> headers;   // lower-case names
  std::uint64_t body_length = 0;
  std::optional<int> rule;    // index of the plan rule that fired
  std::string action;         // "forward" or the fault that fired
  std::optional<int> status;  // status sent (null for "reset" without response and "delay")
};

struct FaultProxyOptions {
  std::string upstream{};  // e.g. S3Server::endpoint()
  fs::path upstream_ca{};  // when the upstream is https
  nlohmann::json plan = nlohmann::json::array();
  std::optional<ServerCert> tls{};  // serve HTTPS with this certificate
  std::chrono::milliseconds start_timeout{20'000};
};

class FaultProxy {
 public:
  explicit FaultProxy(FaultProxyOptions options);
  // In front of `upstream` (trusting its CA when it serves HTTPS), serving plain HTTP.
  FaultProxy(const S3Server& upstream, nlohmann::json plan);
  ~FaultProxy();  // stop()
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::string endpoint() const;  // "http://127.0.0.1:PORT" (https with tls)
  std::uint16_t port() const { return m_port; }
  pid_t pid() const { return m_process->pid(); }

  // Every request seen so far, in order.
  std::vector<ProxyRequest> requests() const;
  // The proxy's own stderr (start line, per-request lines, errors).
  std::string log() const { return m_process->log_tail(1 << 20); }
  void stop() { m_process->stop(); }
  bool stopped() const { return m_process->stopped(); }

 private:
  FaultProxyOptions m_options;
  TempDir m_dir;
  std::uint16_t m_port = 0;
  std::unique_ptr<ServiceProcess> m_process;
};

}  // namespace smrun::test
