#pragma once

// S3 operations with signing, retries, credential refresh and region correction. An S3Client
// owns one HTTP connection and is used by one thread; clients made from the same S3Context share
// configuration, credentials and what they learnt about bucket regions.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/s3/client_config.hpp"
#include "smrun/s3/credentials.hpp"
#include "smrun/s3/http.hpp"
#include "smrun/s3/object_url.hpp"

namespace smrun::s3 {

class S3Context {
 public:
  S3Context(ClientConfig config, std::shared_ptr<CredentialCache> credentials);

  const ClientConfig& config() const { return m_config; }
  CredentialCache& credentials() { return *m_credentials; }

  // The region to sign requests for this bucket with (the configured one until S3 said otherwise).
  std::string region_for(const std::string& bucket);
  void learn_region(const std::string& bucket, std::string region);

  // Asked between attempts and while waiting to retry: true stops the transfer (a stop signal).
  void set_cancel_check(std::function<bool()> check) { m_cancelled = std::move(check); }
  bool cancelled() const;

  // Total retries made by every client of this context (tests and the final log line).
  std::atomic<int> retries{0};

 private:
  std::function<bool()> m_cancelled;
  ClientConfig m_config;
  std::shared_ptr<CredentialCache> m_credentials;
  std::mutex m_mutex;
  std::map<std::string, std::string> m_regions;
};

// One failed S3 request, with S3's own words.
struct S3Failure {
  int http_status = 0;  // 0: no HTTP answer (transport)
  std::string code;     // S3 error code, or the transport error kind
  std::string message;  // one line, ready for the user: URL, code, what to do
  bool retryable = false;
};

struct ObjectRange {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;  // 0: to the end of the object
};

struct GetResult {
  int status = 0;                 // 200 or 206
  std::uint64_t object_size = 0;  // from Content-Range (206) or Content-Length (200)
  std::string etag;
};

class S3Client {
 public:
  explicit S3Client(std::shared_ptr<S3Context> context);

  // GET (a range of) an object; the bytes go to `sink` in order. A body broken off mid-way is
  // resumed from the first missing byte (If-Match the ETag seen first), not started over.
  // `on_size`, when given, learns the object's size as soon as the first answer's headers are in
  // (before its body), e.g. for the progress log.
  base::Expected<GetResult, S3Failure> get_object(
      const ObjectUrl& url, ObjectRange range, const std::string& if_match, const BodySink& sink,
      const std::function<void(std::uint64_t object_size)>& on_size = {});
  base::Expected<std::string, S3Failure> put_object(const ObjectUrl& url, std::string body);
  base::Expected<std::string, S3Failure> create_multipart_upload(const ObjectUrl& url);
  // Returns the part's ETag.
  base::Expected<std::string, S3Failure> upload_part(const ObjectUrl& url,
                                                     const std::string& upload_id, int part_number,
                                                     std::string body);
  base::Expected<void, S3Failure> complete_multipart_upload(
      const ObjectUrl& url, const std::string& upload_id,
      const std::vector<std::pair<int, std::string>>& parts);
  base::Expected<void, S3Failure> abort_multipart_upload(const ObjectUrl& url,
                                                         const std::string& upload_id);

  S3Context& context() { return *m_context; }

 private:
  struct Call;
  base::Expected<HttpResponse, S3Failure> execute(Call& call);

  std::shared_ptr<S3Context> m_context;
  HttpClient m_http;
  std::mt19937_64 m_rng;
};

// The one-line text for a failed request: "<what> s3://b/k failed: <Code> (HTTP n): <advice>".
std::string describe_failure(std::string_view what, const ObjectUrl& url, int http_status,
                             std::string_view code, std::string_view s3_message,
                             std::string_view credential_source);

}  // namespace smrun::s3
