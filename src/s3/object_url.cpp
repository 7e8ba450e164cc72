#include "smrun/s3/object_url.hpp"

#include <fmt/format.h>

#include "smrun/base/printable.hpp"

#include <algorithm>
#include <cctype>

namespace smrun::s3 {

namespace {

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

base::Unexpected<base::Error> url_error(std::string_view url, std::string_view what) {
  return base::fail(base::ErrorKind::kCode,
                    fmt::format("invalid S3 URL '{}': {} (expected s3://bucket/key)",
                                base::printable(url), what));
}

}  // namespace

bool is_s3_url(std::string_view text) {
  return starts_with_ignoring_case(text, "s3://");
}

std::string ObjectUrl::str() const {
  return key.empty() ? fmt::format("s3://{}", bucket) : fmt::format("s3://{}/{}", bucket, key);
}

ObjectUrl ObjectUrl::join(std::string_view relative) const {
  while (!relative.empty() && relative.front() == '/') relative.remove_prefix(1);
  ObjectUrl out = *this;
  if (!out.key.empty() && out.key.back() != '/' && !relative.empty()) out.key.push_back('/');
  out.key.append(relative);
  return out;
}

base::Expected<ObjectUrl> parse_object_url(std::string_view url) {
  if (!is_s3_url(url)) return url_error(url, "it does not start with s3://");
  std::string_view rest = url.substr(5);
  const auto slash = rest.find('/');
  ObjectUrl out;
  out.bucket = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) out.key = std::string(rest.substr(slash + 1));
  const std::string& b = out.bucket;
  if (b.empty()) return url_error(url, "no bucket name");
  if (b.size() < 3 || b.size() > 255)
    return url_error(
        url, fmt::format("bucket name '{}' must have 3 to 63 characters (255 for legacy buckets)",
                         base::printable(b)));
  for (char c : b) {
    const bool ok = std::islower(static_cast<unsigned char>(c)) ||
                    std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                    c == '_' || std::isupper(static_cast<unsigned char>(c));
    if (!ok)
      return url_error(url, fmt::format("bucket name '{}' may only have letters, digits, '.', "
                                        "'-' and '_'",
                                        base::printable(b)));
  }
  for (char c : out.key)
    if (c == '\0' || c == '\n' || c == '\r')
      return url_error(url, "the key has a NUL or line break");
  return out;
}

}  // namespace smrun::s3
