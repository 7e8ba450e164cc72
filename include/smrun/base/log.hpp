#pragma once

// smrun's own log lines, in the reference's layout on stderr
// ("2026-01-01 00:00:00,123 smrun INFO     Reporting training SUCCESS"). The one door to the
// logging library: spdlog is used in src/base/log.cpp only.
//
//   log::info("packed {} files", n);

#include <fmt/format.h>

#include <string_view>
#include <utility>

namespace smrun::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kCritical };

// Installs the stderr logger (every line flushed at once); level info.
void setup();
void set_level(Level level);
bool enabled(Level level);
// One line; the message must not end in a newline.
void write(Level level, std::string_view message);

template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::kDebug))
    write(Level::kDebug, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::kInfo)) write(Level::kInfo, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::kWarn)) write(Level::kWarn, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::kError))
    write(Level::kError, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace smrun::log
