#include "smrun/base/secrets.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace smrun::base {

bool is_secret_name(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static constexpr std::array<std::string_view, 6> kMarkers = {"password", "passwd", "secret",
                                                               "token",    "key",    "credential"};
  return std::any_of(kMarkers.begin(), kMarkers.end(),
                     [&](std::string_view m) { return lower.find(m) != std::string::npos; });
}

}  // namespace smrun::base
