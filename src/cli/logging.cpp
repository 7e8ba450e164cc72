#include "smrun/cli/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <charconv>
#include <memory>

namespace smrun::cli {
namespace {

// Python's level names, padded like "%(levelname)-8s".
class PythonLevelFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const char* name = "INFO    ";
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug:
        name = "DEBUG   ";
        break;
      case spdlog::level::info:
        name = "INFO    ";
        break;
      case spdlog::level::warn:
        name = "WARNING ";
        break;
      case spdlog::level::err:
        name = "ERROR   ";
        break;
      case spdlog::level::critical:
        name = "CRITICAL";
        break;
      default:
        break;
    }
    dest.append(name, name + 8);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<PythonLevelFlag>();
  }
};

}  // namespace

void setup_logging() {
  auto logger =
      std::make_shared<spdlog::logger>("smrun", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<PythonLevelFlag>('*').set_pattern("%Y-%m-%d %H:%M:%S,%e smrun %* %v");
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::trace);  // every line reaches the terminal at once
  spdlog::set_default_logger(std::move(logger));
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
  spdlog::level::level_enum l = spdlog::level::info;
  if (*n <= 0)
    l = spdlog::level::trace;
  else if (*n <= 10)
    l = spdlog::level::debug;
  else if (*n <= 20)
    l = spdlog::level::info;
  else if (*n <= 30)
    l = spdlog::level::warn;
  else if (*n <= 40)
    l = spdlog::level::err;
  else
    l = spdlog::level::critical;
  spdlog::set_level(l);
  return true;
}

}  // namespace smrun::cli
