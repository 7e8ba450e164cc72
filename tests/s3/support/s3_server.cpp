#include "s3/support/s3_server.hpp"

#include <stdexcept>

#include "s3/support/loopback.hpp"

namespace smrun::test {

using nlohmann::json;

fs::path s3rver_dir() {
  return source_dir() / "tests" / "s3" / "s3rver";
}
fs::path s3_support_dir() {
  return source_dir() / "tests" / "s3" / "support";
}
fs::path system_python() {
  return "/usr/bin/python3";
}

std::map<std::string, std::string> python_child_env(const fs::path& home) {
  auto env = isolated_child_env(home);
  env.erase("PYTHONPATH");
  env.erase("PYTHONHOME");
  env.erase("PYTHONSTARTUP");
  env["PYTHONNOUSERSITE"] = "1";
  env["PYTHONDONTWRITEBYTECODE"] = "1";
  return env;
}

// ---------------------------------------------------------------------------------------------
// S3Objects

namespace {

S3Result to_result(const json& j) {
  S3Result r;
  r.ok = j.value("ok", false);
  if (j.contains("status") && j["status"].is_number_integer()) r.status = j["status"].get<int>();
  auto str = [&](const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
  };
  r.code = str("code");
  r.message = str("message");
  r.region_header = str("region_header");
  r.etag = str("etag");
  r.content_type = str("content_type");
  if (j.contains("size") && j["size"].is_number_unsigned()) r.size = j["size"].get<std::uint64_t>();
  if (j.contains("keys")) r.keys = j["keys"].get<std::vector<std::string>>();
  if (j.contains("metadata") && j["metadata"].is_object())
    r.metadata = j["metadata"].get<std::map<std::string, std::string>>();
  return r;
}

std::string describe(const S3Result& r) {
  return r.code + (r.status ? " (HTTP " + std::to_string(*r.status) + ")" : "") + ": " + r.message;
}

}  // namespace

S3Objects::S3Objects(S3ObjectsOptions options) : m_options(std::move(options)) {}

std::vector<S3Result> S3Objects::run(const json& operations) const {
  TempDir home;
  ProcessOptions opts;
  opts.argv = {system_python().string(),
               (s3_support_dir() / "s3_objects.py").string(),
               "--endpoint",
               m_options.endpoint,
               "--region",
               m_options.region,
               "--attempts",
               std::to_string(m_options.attempts),
               "--read-timeout",
               std::to_string(m_options.read_timeout_seconds),
               "--access-key",
               m_options.access_key,
               "--secret-key",
               m_options.secret_key};
  if (!m_options.ca_bundle.empty()) {
    opts.argv.push_back("--ca-bundle");
    opts.argv.push_back(m_options.ca_bundle.string());
  }
  if (!m_options.session_token.empty()) {
    opts.argv.push_back("--session-token");
    opts.argv.push_back(m_options.session_token);
  }
  opts.env = python_child_env(home.path());
  opts.stdin_data = operations.dump();
  opts.timeout = std::chrono::seconds(120);
  ProcessResult p = run_process(opts);
  if (p.exit_code != 0)
    throw std::runtime_error("s3_objects.py against " + m_options.endpoint + " failed (exit " +
                             std::to_string(p.exit_code) + (p.timed_out ? ", timed out" : "") +
                             "): " + p.err);
  json out = json::parse(p.out);
  std::vector<S3Result> results;
  for (const auto& j : out) results.push_back(to_result(j));
  if (results.size() != operations.size())
    throw std::runtime_error("s3_objects.py returned " + std::to_string(results.size()) +
                             " results for " + std::to_string(operations.size()) + " operations");
  return results;
}

void S3Objects::create_bucket(const std::string& bucket) const {
  S3Result r = run(json::array({{{"op", "create_bucket"}, {"bucket", bucket}}})).at(0);
  if (!r.ok) throw std::runtime_error("create bucket " + bucket + ": " + describe(r));
}

void S3Objects::put(const std::string& bucket, const std::string& key, const std::string& data,
                    const std::string& content_type,
                    const std::map<std::string, std::string>& metadata) const {
  TempDir tmp;
  write_file(tmp / "body", data);
  json op = {{"op", "put"}, {"bucket", bucket}, {"key", key}, {"file", (tmp / "body").string()}};
  if (!content_type.empty()) op["content_type"] = content_type;
  if (!metadata.empty()) op["metadata"] = metadata;
  S3Result r = run(json::array({op})).at(0);
  if (!r.ok) throw std::runtime_error("put s3://" + bucket + "/" + key + ": " + describe(r));
}

void S3Objects::put_file(const std::string& bucket, const std::string& key,
                         const fs::path& file) const {
  json op = {{"op", "put"}, {"bucket", bucket}, {"key", key}, {"file", file.string()}};
  S3Result r = run(json::array({op})).at(0);
  if (!r.ok) throw std::runtime_error("put s3://" + bucket + "/" + key + ": " + describe(r));
}

S3Result S3Objects::try_get(const std::string& bucket, const std::string& key,
                            const std::string& range) const {
  TempDir tmp;
  json op = {{"op", "get"}, {"bucket", bucket}, {"key", key}, {"file", (tmp / "body").string()}};
  if (!range.empty()) op["range"] = range;
  S3Result r = run(json::array({op})).at(0);
  if (r.ok) r.body = read_file(tmp / "body");
  return r;
}

S3Result S3Objects::try_put(const std::string& bucket, const std::string& key,
                            const std::string& data) const {
  TempDir tmp;
  write_file(tmp / "body", data);
  json op = {{"op", "put"}, {"bucket", bucket}, {"key", key}, {"file", (tmp / "body").string()}};
  return run(json::array({op})).at(0);
}

std::string S3Objects::get(const std::string& bucket, const std::string& key) const {
  S3Result r = try_get(bucket, key);
  if (!r.ok) throw std::runtime_error("get s3://" + bucket + "/" + key + ": " + describe(r));
  return r.body;
}

std::optional<std::string> S3Objects::get_if_exists(const std::string& bucket,
                                                    const std::string& key) const {
  S3Result r = try_get(bucket, key);
  if (!r.ok && r.status == 404) return std::nullopt;
  if (!r.ok) throw std::runtime_error("get s3://" + bucket + "/" + key + ": " + describe(r));
  return r.body;
}

S3Result S3Objects::head(const std::string& bucket, const std::string& key) const {
  return run(json::array({{{"op", "head"}, {"bucket", bucket}, {"key", key}}})).at(0);
}

std::vector<std::string> S3Objects::list(const std::string& bucket,
                                         const std::string& prefix) const {
  S3Result r = run(json::array({{{"op", "list"}, {"bucket", bucket}, {"prefix", prefix}}})).at(0);
  if (!r.ok) throw std::runtime_error("list s3://" + bucket + "/" + prefix + ": " + describe(r));
  return r.keys;
}

// ---------------------------------------------------------------------------------------------
// S3Server

S3Server::S3Server(S3ServerOptions options) : m_options(std::move(options)) {
  const fs::path dir = s3rver_dir();
  if (!fs::exists(dir / "node_modules" / "s3rver" / "package.json"))
    throw std::runtime_error("s3rver is not installed in " + (dir / "node_modules").string() +
                             ": run scripts/setup-s3rver.sh (npm ci from the committed "
                             "package-lock.json)");
  m_data = m_dir / "data";
  fs::create_directories(m_dir / "home");
  json config = {{"directory", m_data.string()},
                 {"address", "127.0.0.1"},
                 {"port", 0},
                 {"buckets", m_options.buckets}};
  if (m_options.tls) {
    config["cert"] = m_options.tls->cert.string();
    config["key"] = m_options.tls->key.string();
  }
  ServiceOptions service;
  service.what = "s3rver";
  service.argv = {find_program("node").string(), (dir / "serve.js").string(), config.dump()};
  service.env = isolated_child_env(m_dir / "home");
  service.cwd = m_dir.path();
  service.log = m_dir / "s3rver.log";
  m_process = std::make_unique<ServiceProcess>(std::move(service));
  const std::string line = m_process->wait_ready_line(m_options.start_timeout);
  json ready = json::parse(line, nullptr, false);
  if (ready.is_discarded() || !ready.contains("port"))
    throw std::runtime_error("s3rver: unexpected ready line: " + line);
  m_port = ready["port"].get<std::uint16_t>();
}

S3Server::~S3Server() = default;  // ~ServiceProcess stops it

std::string S3Server::endpoint(std::string_view host) const {
  return std::string(tls() ? "https://" : "http://") + std::string(host) + ":" +
         std::to_string(m_port);
}

S3Objects S3Server::objects(int attempts) const {
  S3ObjectsOptions o;
  o.endpoint = endpoint();
  if (m_options.tls) o.ca_bundle = m_options.tls->ca;
  o.attempts = attempts;
  return S3Objects(o);
}

}  // namespace smrun::test
