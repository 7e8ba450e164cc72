// AWS Signature Version 4, header-based, as specified in "Create a signed AWS API request"
// (IAM User Guide) and, for S3, "Signature Calculations for the Authorization Header" (S3 API
// Reference). SHA-256 and HMAC come from OpenSSL.

#include "smrun/s3/sigv4.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cassert>
#include <ctime>
#include <map>
#include <stdexcept>

namespace smrun::s3 {

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Trimall: no leading or trailing whitespace, every inner run of whitespace one space (this is
// also what unfolds an obsolete multi-line header value).
std::string trim_all(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : value) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("OpenSSL EVP_Digest(SHA-256) failed");
  return hex_encode(std::string_view(reinterpret_cast<const char*>(digest), size));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  // A zero-length key is legal for HMAC but OpenSSL wants a non-null pointer for it.
  static const unsigned char kNoKey = 0;
  const void* key_ptr = key.empty() ? &kNoKey : static_cast<const void*>(key.data());
  if (HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &size) == nullptr)
    throw std::runtime_error("OpenSSL HMAC(SHA-256) failed");
  return std::string(reinterpret_cast<const char*>(mac), size);
}

std::string hex_encode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

std::string uri_encode(std::string_view text, bool encode_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                            c == '~' || (c == '/' && !encode_slash);
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0x0f]);
    }
  }
  return out;
}

std::string amz_date(std::chrono::system_clock::time_point time) {
  const std::time_t t =
      std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(time));
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &utc);
  assert(n == 16);
  return std::string(buf, n);
}

std::string signing_key(std::string_view secret_access_key, std::string_view date,
                        std::string_view region, std::string_view service) {
  std::string secret = "AWS4";
  secret.append(secret_access_key);
  const std::string k_date = hmac_sha256(secret, date);
  // The secret (with its prefix) is wiped once it has been used.
  OPENSSL_cleanse(secret.data(), secret.size());
  const std::string k_region = hmac_sha256(k_date, region);
  const std::string k_service = hmac_sha256(k_region, service);
  return hmac_sha256(k_service, "aws4_request");
}

SignedRequest sign_request(const SigningInput& input, const SigningCredentials& credentials) {
  const bool is_s3 = input.service == "s3";
  const bool has_token = !credentials.session_token.empty();
  const std::string date_time = amz_date(input.time);
  const std::string date = date_time.substr(0, 8);
  const std::string payload =
      input.payload_sha256.empty() ? std::string(kEmptySha256) : input.payload_sha256;

  // The headers to send: the caller's, minus those sign_request owns, plus those it adds.
  SignedRequest out;
  for (const auto& [name, value] : input.headers) {
    const std::string key = lower(name);
    if (key == "authorization" || key == "x-amz-date" || (is_s3 && key == "x-amz-content-sha256") ||
        (has_token && key == "x-amz-security-token"))
      continue;
    out.headers.emplace_back(name, value);
  }
  out.headers.emplace_back("x-amz-date", date_time);
  if (is_s3) out.headers.emplace_back("x-amz-content-sha256", payload);
  if (has_token) out.headers.emplace_back("x-amz-security-token", credentials.session_token);

  // Canonical headers: lower-case names in byte order, a repeated name's values joined by ','
  // in the order given.
  std::map<std::string, std::string> canonical_headers;
  for (const auto& [name, value] : out.headers) {
    auto [it, inserted] = canonical_headers.try_emplace(lower(trim_all(name)), trim_all(value));
    if (!inserted) it->second.append(",").append(trim_all(value));
  }
  std::string signed_headers;
  std::string header_block;
  for (const auto& [name, value] : canonical_headers) {
    if (!signed_headers.empty()) signed_headers.push_back(';');
    signed_headers += name;
    header_block.append(name).append(":").append(value).append("\n");
  }

  // Canonical query: names and values encoded ('/' too), sorted by name, then value.
  std::vector<std::pair<std::string, std::string>> query;
  query.reserve(input.query.size());
  for (const auto& [name, value] : input.query)
    query.emplace_back(uri_encode(name, true), uri_encode(value, true));
  std::sort(query.begin(), query.end());
  std::string query_string;
  for (const auto& [name, value] : query) {
    if (!query_string.empty()) query_string.push_back('&');
    query_string.append(name).append("=").append(value);
  }

  out.canonical_request = input.method;
  out.canonical_request.append("\n")
      .append(input.canonical_uri.empty() ? "/" : input.canonical_uri)
      .append("\n")
      .append(query_string)
      .append("\n")
      .append(header_block)
      .append("\n")
      .append(signed_headers)
      .append("\n")
      .append(payload);

  const std::string scope = date + "/" + input.region + "/" + input.service + "/aws4_request";
  out.string_to_sign = std::string(kAlgorithm);
  out.string_to_sign.append("\n").append(date_time).append("\n").append(scope).append("\n").append(
      sha256_hex(out.canonical_request));

  std::string key = signing_key(credentials.secret_access_key, date, input.region, input.service);
  out.signature = hex_encode(hmac_sha256(key, out.string_to_sign));
  OPENSSL_cleanse(key.data(), key.size());

  std::string authorization(kAlgorithm);
  authorization.append(" Credential=")
      .append(credentials.access_key_id)
      .append("/")
      .append(scope)
      .append(", SignedHeaders=")
      .append(signed_headers)
      .append(", Signature=")
      .append(out.signature);
  out.headers.emplace_back("Authorization", std::move(authorization));
  return out;
}

}  // namespace smrun::s3
