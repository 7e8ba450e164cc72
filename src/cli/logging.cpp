#include "smrun/cli/logging.hpp"
#include "smrun/base/log.hpp"

#include <charconv>
#include <memory>

namespace smrun::cli {

void setup_logging() {
  log::setup();
}

bool apply_python_log_level(const config::PyValue& level) {
  std::optional<std::int64_t> n = level.as_int64();
  if (!n && level.is_str()) {
    std::int64_t parsed = 0;
    const std::string& s = level.as_str();
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), parsed);
    if (ec == std::errc() && ptr == s.data() + s.size()) n = parsed;
  }
  if (!n) return false;
  log::Level l = log::Level::kInfo;
  if (*n <= 0)
    l = log::Level::kTrace;
  else if (*n <= 10)
    l = log::Level::kDebug;
  else if (*n <= 20)
    l = log::Level::kInfo;
  else if (*n <= 30)
    l = log::Level::kWarn;
  else if (*n <= 40)
    l = log::Level::kError;
  else
    l = log::Level::kCritical;
  log::set_level(l);
  return true;
}

}  // namespace smrun::cli
