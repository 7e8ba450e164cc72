#include "smrun/s3/client.hpp"
#include "smrun/base/log.hpp"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <thread>

#include "smrun/base/printable.hpp"
#include "smrun/s3/s3_xml.hpp"
#include "smrun/s3/sigv4.hpp"

namespace smrun::s3 {

namespace {

using Clock = std::chrono::steady_clock;

std::string advice_for(std::string_view code, std::string_view what,
                       std::string_view credential_source) {
  const bool upload = what.find("upload") != std::string_view::npos;
  if (code == "NoSuchKey" || code == "NotFound")
    return "no object has this key; check the URL (the SageMaker SDK uploads source_dir as "
           "<prefix>/source/sourcedir.tar.gz)";
  if (code == "NoSuchBucket") return "the bucket does not exist; check its name";
  if (code == "NoSuchUpload") return "the multipart upload was aborted or completed meanwhile";
  if (code == "AccessDenied" || code == "Forbidden" || code == "AllAccessDisabled")
    return fmt::format(
        "the credentials from {} are not allowed to do this; the role needs {} on the object "
        "and the bucket policy must allow it",
        credential_source, upload ? "s3:PutObject" : "s3:GetObject");
  if (code == "InvalidAccessKeyId")
    return fmt::format("S3 does not know the access key id from {}", credential_source);
  if (code == "SignatureDoesNotMatch")
    return fmt::format("the secret access key from {} does not belong to its access key id",
                       credential_source);
  if (code == "ExpiredToken" || code == "TokenRefreshRequired" || code == "ExpiredTokenException")
    return fmt::format("the session token from {} has expired, and fresh credentials did not help",
                       credential_source);
  if (code == "InvalidToken")
    return fmt::format("the session token from {} is malformed", credential_source);
  if (code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" ||
      code == "IllegalLocationConstraintException")
    return "the bucket is in another region; set AWS_REGION to the bucket's region";
  if (code == "RequestTimeTooSkewed") return "this machine's clock is off; fix its time";
  if (code == "PreconditionFailed")
    return "the object changed while it was being downloaded; run the job again";
  if (code == "SlowDown" || code == "ServiceUnavailable" || code == "Throttling")
    return "S3 kept throttling; raise SMRUN_S3_MAX_ATTEMPTS / SMRUN_S3_RETRY_SECONDS or lower "
           "SMRUN_S3_CONCURRENCY";
  if (code == "tls")
    return "check the endpoint's certificate; AWS_CA_BUNDLE names extra trusted CAs "
           "(certificate checks are never turned off)";
  if (code == "transport") return "check the endpoint URL and the network";
  return {};
}

std::string default_code(int status) {
  switch (status) {
    case 301:
      return "PermanentRedirect";
    case 307:
      return "TemporaryRedirect";
    case 400:
      return "BadRequest";
    case 403:
      return "AccessDenied";
    case 404:
      return "NotFound";
    case 412:
      return "PreconditionFailed";
    case 416:
      return "InvalidRange";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    default:
      return fmt::format("HTTP{}", status);
  }
}

bool is_expired_token(std::string_view code) {
  return code == "ExpiredToken" || code == "TokenRefreshRequired" ||
         code == "ExpiredTokenException";
}

// "bytes 0-99/1234" -> 1234
std::optional<std::uint64_t> total_from_content_range(const std::string& value) {
  const auto slash = value.rfind('/');
  if (slash == std::string::npos) return std::nullopt;
  std::uint64_t total = 0;
  const char* begin = value.data() + slash + 1;
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(begin, end, total);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return total;
}

std::optional<std::uint64_t> parse_u64(const std::string& value) {
  std::uint64_t out = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || ptr != value.data() + value.size()) return std::nullopt;
  return out;
}

}  // namespace

std::string describe_failure(std::string_view what, const ObjectUrl& url, int http_status,
                             std::string_view code, std::string_view s3_message,
                             std::string_view credential_source) {
  // Transport failures have no S3 code: the message says what broke.
  const bool transport = code == "transport" || code == "tls";
  std::string text = transport ? fmt::format("{} {} failed", what, url.str())
                               : fmt::format("{} {} failed: {}", what, url.str(), code);
  if (http_status != 0) text += fmt::format(" (HTTP {})", http_status);
  if (!s3_message.empty()) {
    std::string_view m = s3_message;
    while (!m.empty() && (m.back() == '.' || m.back() == ' ')) m.remove_suffix(1);
    text += fmt::format(": {}", m);
  }
  if (const std::string advice = advice_for(code, what, credential_source); !advice.empty())
    text += fmt::format("; {}", advice);
  return base::printable(text);
}

S3Context::S3Context(ClientConfig config, std::shared_ptr<CredentialCache> credentials)
    : m_config(std::move(config)), m_credentials(std::move(credentials)) {}

std::string S3Context::region_for(const std::string& bucket) {
  std::lock_guard lock(m_mutex);
  if (auto it = m_regions.find(bucket); it != m_regions.end()) return it->second;
  return m_config.region;
}

void S3Context::learn_region(const std::string& bucket, std::string region) {
  std::lock_guard lock(m_mutex);
  m_regions[bucket] = std::move(region);
}

bool S3Context::cancelled() const {
  return m_cancelled && m_cancelled();
}

struct S3Client::Call {
  std::string what;  // "download of", "upload of", ... for messages
  std::string method;
  const ObjectUrl* url = nullptr;
  std::vector<std::pair<std::string, std::string>> query;  // not encoded
  HttpHeaders headers;
  std::string body;
  BodySink sink;
  std::function<void(int status, const HttpHeaders& headers)> on_headers;
  // Runs before every attempt (a resumed GET moves its Range here).
  std::function<void(Call&)> before_attempt;
  bool accept_412 = false;
};

namespace {

HttpOptions http_options(const S3Context& context) {
  const ClientConfig& config = context.config();
  HttpOptions o;
  o.connect_timeout = std::min(config.transfer.timeout, std::chrono::milliseconds(10'000));
  o.io_timeout = config.transfer.timeout;
  if (config.ca_bundle) o.ca_bundle = *config.ca_bundle;
  o.user_agent = "smrun (S3)";
  o.abort = [&context] { return context.cancelled(); };  // the client holds the context
  return o;
}

}  // namespace

S3Client::S3Client(std::shared_ptr<S3Context> context)
    : m_context(std::move(context)),
      m_http(http_options(*m_context)),
      m_rng(std::random_device{}()) {}

base::Expected<HttpResponse, S3Failure> S3Client::execute(Call& call) {
  const RetryPolicy& policy = m_context->config().transfer.retry;
  const auto started = Clock::now();
  const auto deadline = started + policy.total;
  bool region_corrected = false;
  bool credentials_refreshed = false;
  std::string credential_source = "(none)";
  S3Failure last;

  auto fail_with = [&](int status, std::string code, std::string_view s3_message, bool retryable) {
    last.http_status = status;
    last.code = std::move(code);
    last.message =
        describe_failure(call.what, *call.url, status, last.code, s3_message, credential_source);
    last.retryable = retryable;
  };

  for (int attempt = 1;; ++attempt) {
    if (m_context->cancelled()) {
      fail_with(0, "Cancelled", "a stop signal arrived", false);
      return base::Unexpected(last);
    }
    auto credentials = m_context->credentials().get();
    if (!credentials) {
      last = S3Failure{
          0, "NoCredentials",
          fmt::format("{} {} failed: {}", call.what, call.url->str(), credentials.error().message),
          false};
      return base::Unexpected(last);
    }
    credential_source = credentials->source;
    if (call.before_attempt) call.before_attempt(call);

    const std::string region = m_context->region_for(call.url->bucket);
    RequestAddress address =
        address_for(m_context->config(), region, call.url->bucket, call.url->key);
    std::string query_string;
    for (const auto& [k, v] : call.query) {
      query_string += query_string.empty() ? '?' : '&';
      query_string += uri_encode(k, true);
      query_string += '=';
      query_string += uri_encode(v, true);
    }
    SigningInput input;
    input.method = call.method;
    input.canonical_uri = address.canonical_uri;
    input.query = call.query;
    input.headers = call.headers;
    input.headers.emplace_back("host", address.url.authority());
    input.payload_sha256 = sha256_hex(call.body);
    input.region = region;
    input.service = "s3";
    input.time = std::chrono::system_clock::now();
    SignedRequest signed_request = sign_request(input, credentials->keys);

    HttpRequest request;
    request.method = call.method;
    request.url = address.url;
    request.url.target = address.canonical_uri + query_string;
    request.headers = std::move(signed_request.headers);
    // Lent to the request for this attempt and taken back after it: a part is not copied per
    // attempt, and a retry sends the same bytes.
    request.body = std::move(call.body);
    request.on_headers = call.on_headers;

    auto response = m_http.send(request, call.sink);
    call.body = std::move(request.body);
    bool retry_now = false;  // retry without backoff (region or credentials fixed)
    if (!response) {
      const TransportError& e = response.error();
      const bool tls = e.kind == TransportError::Kind::kTls;
      const bool retryable =
          !tls && e.kind != TransportError::Kind::kBadUrl && e.kind != TransportError::Kind::kSink;
      fail_with(0, tls ? "tls" : "transport", e.message, retryable);
    } else if (response->status >= 200 && response->status < 300) {
      // CompleteMultipartUpload can answer 200 and still fail, with an <Error> body.
      if (auto error = parse_error_body(response->body); error && call.method == "POST") {
        fail_with(response->status, error->code, error->message,
                  is_retryable_status(500, error->code));
      } else {
        return std::move(*response);
      }
    } else if (response->status == 412 && call.accept_412) {
      return std::move(*response);
    } else {
      const auto error = parse_error_body(response->body);
      const std::string code =
          error && !error->code.empty() ? error->code : default_code(response->status);
      std::string hint = response->header("x-amz-bucket-region").value_or("");
      if (hint.empty() && error) hint = error->region;
      fail_with(response->status, code, error ? error->message : std::string(),
                is_retryable_status(response->status, code));
      if (!region_corrected && !hint.empty() && hint != region &&
          (response->status == 301 || response->status == 307 || response->status == 400)) {
        log::info("S3 says bucket {} is in region {}, not {}; signing for {} from now on",
                  call.url->bucket, hint, region, hint);
        m_context->learn_region(call.url->bucket, hint);
        region_corrected = true;
        retry_now = true;
      } else if (!credentials_refreshed && is_expired_token(code)) {
        log::info("S3 says the credentials from {} have expired; fetching fresh ones",
                  credential_source);
        m_context->credentials().invalidate();
        credentials_refreshed = true;
        retry_now = true;
      }
    }
    if (!retry_now && !last.retryable) return base::Unexpected(last);
    if (m_context->cancelled()) continue;  // ended by the cancel check: no retry warning
    if (attempt >= policy.max_attempts || Clock::now() >= deadline) {
      const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
      last.message =
          fmt::format("{} (gave up after {} attempts in {:.1f} s)", last.message, attempt, seconds);
      return base::Unexpected(last);
    }
    ++m_context->retries;
    if (retry_now) continue;
    auto delay = backoff_delay(policy, attempt, m_rng);
    delay = std::min(
        delay, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    log::warn("{}; retrying in {} ms (attempt {} of {})", last.message, delay.count(), attempt + 1,
              policy.max_attempts);
    const auto wake = Clock::now() + delay;
    while (Clock::now() < wake && !m_context->cancelled())
      std::this_thread::sleep_for(
          std::min<Clock::duration>(wake - Clock::now(), std::chrono::milliseconds(50)));
  }
}

base::Expected<GetResult, S3Failure> S3Client::get_object(
    const ObjectUrl& url, ObjectRange range, const std::string& if_match, const BodySink& sink,
    const std::function<void(std::uint64_t object_size)>& on_size) {
  std::uint64_t received = 0;
  std::string etag = if_match;
  Call call;
  call.what = "download of";
  call.method = "GET";
  call.url = &url;
  call.sink = [&](std::string_view chunk) -> base::Status {
    received += chunk.size();
    return sink(chunk);
  };
  const bool ranged = range.offset != 0 || range.length != 0;
  bool size_reported = false;
  call.on_headers = [&](int status, const HttpHeaders& headers) {
    HttpResponse view;
    view.headers = headers;
    // Resumed attempts must get the same object: pin the ETag the first answer had.
    if (etag.empty()) etag = view.header("etag").value_or("");
    if (!on_size || size_reported) return;
    std::optional<std::uint64_t> size =
        status == 206 ? total_from_content_range(view.header("content-range").value_or(""))
                      : parse_u64(view.header("content-length").value_or(""));
    if (size) {
      size_reported = true;
      on_size(*size);
    }
  };
  call.before_attempt = [&](Call& c) {
    c.headers.clear();
    const std::uint64_t start = range.offset + received;
    if (ranged || received > 0) {
      const std::string end =
          range.length == 0 ? std::string() : std::to_string(range.offset + range.length - 1);
      c.headers.emplace_back("range", fmt::format("bytes={}-{}", start, end));
    }
    if (!etag.empty()) c.headers.emplace_back("if-match", etag);
  };
  auto response = execute(call);
  // A resumed attempt that broke again is retried inside execute(); here the whole range is in.
  if (!response) {
    // An empty object has no byte 0: S3 answers a ranged GET with 416 InvalidRange. Ask again
    // for the whole (empty) object.
    if (response.error().http_status == 416 && range.offset == 0 && received == 0 && ranged)
      return get_object(url, ObjectRange{}, if_match, sink, on_size);
    return base::Unexpected(response.error());
  }
  GetResult result;
  result.status = response->status;
  result.etag = response->header("etag").value_or(etag);
  if (response->status == 206) {
    const auto total = total_from_content_range(response->header("content-range").value_or(""));
    if (!total) {
      S3Failure f{206, "BadContentRange",
                  fmt::format("download of {} failed: the server's Content-Range '{}' has no "
                              "object size",
                              url.str(), response->header("content-range").value_or("")),
                  false};
      return base::Unexpected(f);
    }
    result.object_size = *total;
  } else {
    if (received > 0 && ranged) {
      S3Failure f{
          200, "RangeIgnored",
          fmt::format("download of {} failed: the server ignored the Range header", url.str()),
          false};
      return base::Unexpected(f);
    }
    result.object_size =
        parse_u64(response->header("content-length").value_or("")).value_or(received);
  }
  return result;
}

base::Expected<std::string, S3Failure> S3Client::put_object(const ObjectUrl& url,
                                                            std::string body) {
  Call call;
  call.what = "upload of";
  call.method = "PUT";
  call.url = &url;
  call.body = std::move(body);
  auto response = execute(call);
  if (!response) return base::Unexpected(response.error());
  return response->header("etag").value_or("");
}

base::Expected<std::string, S3Failure> S3Client::create_multipart_upload(const ObjectUrl& url) {
  Call call;
  call.what = "upload of";
  call.method = "POST";
  call.url = &url;
  call.query = {{"uploads", ""}};
  auto response = execute(call);
  if (!response) return base::Unexpected(response.error());
  auto id = parse_upload_id(response->body);
  if (!id)
    return base::Unexpected(S3Failure{
        response->status, "BadResponse",
        fmt::format("upload of {} failed: S3's CreateMultipartUpload answer has no UploadId",
                    url.str()),
        false});
  return *id;
}

base::Expected<std::string, S3Failure> S3Client::upload_part(const ObjectUrl& url,
                                                             const std::string& upload_id,
                                                             int part_number, std::string body) {
  Call call;
  call.what = "upload of";
  call.method = "PUT";
  call.url = &url;
  call.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}};
  call.body = std::move(body);
  auto response = execute(call);
  if (!response) return base::Unexpected(response.error());
  auto etag = response->header("etag");
  if (!etag || etag->empty())
    return base::Unexpected(S3Failure{
        response->status, "BadResponse",
        fmt::format("upload of {} failed: S3 returned no ETag for part {}", url.str(), part_number),
        false});
  return *etag;
}

base::Expected<void, S3Failure> S3Client::complete_multipart_upload(
    const ObjectUrl& url, const std::string& upload_id,
    const std::vector<std::pair<int, std::string>>& parts) {
  Call call;
  call.what = "upload of";
  call.method = "POST";
  call.url = &url;
  call.query = {{"uploadId", upload_id}};
  call.body = complete_multipart_body(parts);
  call.headers = {{"content-type", "application/xml"}};
  auto response = execute(call);
  if (!response) return base::Unexpected(response.error());
  return {};
}

base::Expected<void, S3Failure> S3Client::abort_multipart_upload(const ObjectUrl& url,
                                                                 const std::string& upload_id) {
  Call call;
  call.what = "abort of the upload of";
  call.method = "DELETE";
  call.url = &url;
  call.query = {{"uploadId", upload_id}};
  auto response = execute(call);
  if (!response) return base::Unexpected(response.error());
  return {};
}

}  // namespace smrun::s3
