#include "s3/support/fault_proxy.hpp"

#include <fstream>
#include <stdexcept>

namespace smrun::test {

using nlohmann::json;

namespace {

std::optional<std::string> opt_string(const json& j, const char* key) {
  if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  return std::nullopt;
}

std::optional<int> opt_int(const json& j, const char* key) {
  if (j.contains(key) && j[key].is_number_integer()) return j[key].get<int>();
  return std::nullopt;
}

ProxyRequest to_request(const json& j) {
  ProxyRequest r;
  r.seq = j.value("seq", 0);
  r.time_ms = j.value("time_ms", 0L);
  r.method = j.value("method", "");
  r.path = j.value("path", "");
  r.query = j.value("query", "");
  r.range = opt_string(j, "range");
  r.access_key = opt_string(j, "access_key");
  r.credential_scope = opt_string(j, "credential_scope");
  r.region = opt_string(j, "region");
  r.security_token = opt_string(j, "security_token");
  if (j.contains("headers") && j["headers"].is_object())
    r.headers = j["headers"].get<std::map<std::string, std::string>>();
  r.body_length = j.value("body_length", std::uint64_t{0});
  r.rule = opt_int(j, "rule");
  r.action = j.value("action", "");
  r.status = opt_int(j, "status");
  return r;
}

FaultProxyOptions options_for(const S3Server& upstream, json plan) {
  FaultProxyOptions o;
  o.upstream = upstream.endpoint();
  if (upstream.tls()) o.upstream_ca = upstream.objects().options().ca_bundle;
  o.plan = std::move(plan);
  return o;
}

}  // namespace

FaultProxy::FaultProxy(const S3Server& upstream, json plan)
    : FaultProxy(options_for(upstream, std::move(plan))) {}

FaultProxy::FaultProxy(FaultProxyOptions options) : m_options(std::move(options)) {
  write_file(m_dir / "plan.json", m_options.plan.dump(2));
  write_file(m_dir / "requests.jsonl", "");
  fs::create_directories(m_dir / "home");
  ServiceOptions service;
  service.what = "fault proxy";
  service.argv = {system_python().string(),
                  (s3_support_dir() / "fault_proxy.py").string(),
                  "--upstream",
                  m_options.upstream,
                  "--plan",
                  (m_dir / "plan.json").string(),
                  "--log",
                  (m_dir / "requests.jsonl").string()};
  if (!m_options.upstream_ca.empty()) {
    service.argv.push_back("--upstream-ca");
    service.argv.push_back(m_options.upstream_ca.string());
  }
  if (m_options.tls) {
    service.argv.insert(service.argv.end(), {"--cert", m_options.tls->cert.string(), "--key",
                                             m_options.tls->key.string()});
  }
  service.env = python_child_env(m_dir / "home");
  service.cwd = m_dir.path();
  service.log = m_dir / "proxy.log";
  m_process = std::make_unique<ServiceProcess>(std::move(service));
  const std::string line = m_process->wait_ready_line(m_options.start_timeout);
  json ready = json::parse(line, nullptr, false);
  if (ready.is_discarded() || !ready.contains("port"))
    throw std::runtime_error("fault proxy: unexpected ready line: " + line);
  m_port = ready["port"].get<std::uint16_t>();
}

FaultProxy::~FaultProxy() = default;  // ~ServiceProcess stops it

std::string FaultProxy::endpoint() const {
  return std::string(m_options.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(m_port);
}

std::vector<ProxyRequest> FaultProxy::requests() const {
  std::vector<ProxyRequest> out;
  std::ifstream f(m_dir / "requests.jsonl");
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    // A record is written with one write() before the response; a partial last line can only
    // be one still being written for a request whose response nobody has seen yet.
    if (j.is_discarded()) break;
    out.push_back(to_request(j));
  }
  return out;
}

}  // namespace smrun::test
