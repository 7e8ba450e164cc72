#pragma once

// A real S3 stand-in for tests: npm s3rver 3.7.1 (tests/s3/s3rver, installed by
// scripts/setup-s3rver.sh) run by node on 127.0.0.1 with a port the kernel picks, over a fresh
// data directory, optionally with TLS. Plus S3Objects, a botocore client (Debian's, under
// /usr/bin/python3) to put and get objects independently of smrun's own client.
//
//   S3Server s3({.buckets = {"sm-test"}});
//   s3.objects().put("sm-test", "job/source/sourcedir.tar.gz", tarball);
//   ... run smrun with S3_ENDPOINT_URL=s3.endpoint(), AWS_ACCESS_KEY_ID=S3Server::kAccessKey ...
//   EXPECT_EQ(s3.objects().get("sm-test", "job/output/x"), "...");
//
// s3rver accepts any SigV4 signature made with the access key S3RVER (it does not verify
// signatures: check those separately) and needs x-amz-content-sha256 on signed requests;
// unsigned requests are allowed.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "s3/support/service_process.hpp"
#include "s3/support/test_ca.hpp"
#include "support/test_support.hpp"

namespace smrun::test {

// Result of one botocore operation. S3 errors are results, not exceptions.
struct S3Result {
  bool ok = false;
  std::optional<int> status;  // HTTP status of the failure (or of a successful get)
  std::string code;           // S3 error code ("NoSuchKey", "SlowDown"), or botocore's
                              // exception name for a transport error ("ConnectTimeoutError")
  std::string message;
  std::string region_header;  // x-amz-bucket-region of an error response
  std::string body;           // get: the object's bytes (or the requested range)
  std::uint64_t size = 0;     // get/head
  std::string etag;
  std::string content_type;                     // head
  std::map<std::string, std::string> metadata;  // head: x-amz-meta-* without the prefix
  std::vector<std::string> keys;                // list
};

struct S3ObjectsOptions {
  std::string endpoint{};  // http(s)://127.0.0.1:PORT
  fs::path ca_bundle{};    // for https endpoints
  std::string region = "us-east-1";
  int attempts = 1;  // total attempts per operation (1: botocore does not retry)
  int read_timeout_seconds = 60;
  std::string access_key = "S3RVER";
  std::string secret_key = "S3RVER";
  std::string session_token{};  // empty: none
};

class S3Objects {
 public:
  explicit S3Objects(S3ObjectsOptions options);

  // These throw std::runtime_error (with S3's error code and message) on failure.
  void create_bucket(const std::string& bucket) const;
  void put(const std::string& bucket, const std::string& key, const std::string& data,
           const std::string& content_type = "",
           const std::map<std::string, std::string>& metadata = {}) const;
  void put_file(const std::string& bucket, const std::string& key, const fs::path& file) const;
  std::string get(const std::string& bucket, const std::string& key) const;
  // nullopt when the key does not exist (404).
  std::optional<std::string> get_if_exists(const std::string& bucket, const std::string& key) const;
  std::vector<std::string> list(const std::string& bucket, const std::string& prefix = "") const;

  // These never throw for S3 errors.
  S3Result try_get(const std::string& bucket, const std::string& key,
                   const std::string& range = "") const;
  S3Result try_put(const std::string& bucket, const std::string& key,
                   const std::string& data) const;
  S3Result head(const std::string& bucket, const std::string& key) const;

  // Several operations in one botocore process (s3_objects.py's JSON list; "file" paths of put
  // and get are the caller's). One result per operation.
  std::vector<S3Result> run(const nlohmann::json& operations) const;

  const S3ObjectsOptions& options() const { return m_options; }

 private:
  S3ObjectsOptions m_options;
};

struct S3ServerOptions {
  std::vector<std::string> buckets{};  // created at start (--configure-bucket)
  std::optional<ServerCert> tls{};     // serve HTTPS with this certificate
  std::chrono::milliseconds start_timeout{30'000};
};

class S3Server {
 public:
  static constexpr const char* kAccessKey = "S3RVER";
  static constexpr const char* kSecretKey = "S3RVER";

  // Starts s3rver and returns once it accepts connections; throws (quoting s3rver's log) if it
  // does not within start_timeout, or if s3rver is not installed.
  explicit S3Server(S3ServerOptions options = {});
  ~S3Server();  // stop()
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  // "http://127.0.0.1:PORT" (https with tls).
  std::string endpoint() const { return endpoint("127.0.0.1"); }
  // The same server under another host name, e.g. "localhost".
  std::string endpoint(std::string_view host) const;
  std::uint16_t port() const { return m_port; }
  bool tls() const { return m_options.tls.has_value(); }
  const fs::path& data_dir() const { return m_data; }
  pid_t pid() const { return m_process->pid(); }
  // s3rver's own log (one line per request).
  std::string log() const { return m_process->log_tail(1 << 20); }
  // SIGTERM, then SIGKILL after a bounded grace; reaps. Idempotent.
  void stop() { m_process->stop(); }
  bool stopped() const { return m_process->stopped(); }

  // A botocore client on this server (trusting the server's CA when it serves HTTPS).
  S3Objects objects(int attempts = 1) const;

 private:
  S3ServerOptions m_options;
  TempDir m_dir;
  fs::path m_data;
  std::uint16_t m_port = 0;
  std::unique_ptr<ServiceProcess> m_process;
};

// Where the committed support files are.
fs::path s3rver_dir();      // tests/s3/s3rver (package.json, serve.js, node_modules/)
fs::path s3_support_dir();  // tests/s3/support (the python helpers)
fs::path system_python();   // /usr/bin/python3 (Debian's, which has botocore)
// The environment for a python helper: isolated_child_env(home) without PYTHONPATH/PYTHONHOME.
std::map<std::string, std::string> python_child_env(const fs::path& home);

}  // namespace smrun::test
