#include "smrun/base/secrets.hpp"

#include <algorithm>
#include <array>

namespace smrun::base {
namespace {

bool is_lower_or_digit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
// Bytes of multi-byte UTF-8 characters count as letters: `unicode_key_ü` keeps `ü` whole.
bool is_word(char c) {
  return is_lower_or_digit(c) || is_upper(c) || static_cast<unsigned char>(c) >= 0x80;
}
char lower(char c) {
  return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

std::vector<std::string> name_segments(std::string_view name) {
  std::vector<std::string> out;
  std::string current;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!is_word(c)) {
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
      continue;
    }
    // camelCase: "apiKey" -> api|Key; acronyms: "APIKey" -> API|Key.
    const bool boundary =
        !current.empty() && is_upper(c) &&
        (is_lower_or_digit(name[i - 1]) || (is_upper(name[i - 1]) && i + 1 < name.size() &&
                                            name[i + 1] >= 'a' && name[i + 1] <= 'z'));
    if (boundary) {
      out.push_back(std::move(current));
      current.clear();
    }
    current += lower(c);
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

bool is_secret_name(std::string_view name) {
  static constexpr std::array<std::string_view, 15> kSecretSegments = {
      "password", "passwd",     "passphrase",  "secret",    "secrets",
      "token",    "credential", "credentials", "auth",      "authorization",
      "apikey",   "accesskey",  "privatekey",  "secretkey", "authtoken"};
  static constexpr std::array<std::string_view, 3> kKeyQualifiers = {"api", "access", "private"};
  const std::vector<std::string> segments = name_segments(name);
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string& s = segments[i];
    if (std::find(kSecretSegments.begin(), kSecretSegments.end(), s) != kSecretSegments.end())
      return true;
    if (s == "key" && i > 0 &&
        std::find(kKeyQualifiers.begin(), kKeyQualifiers.end(), segments[i - 1]) !=
            kKeyQualifiers.end())
      return true;
  }
  return false;
}

}  // namespace smrun::base
