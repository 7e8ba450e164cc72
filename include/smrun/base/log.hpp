#pragma once

// smrun's own log lines, in the reference's layout on stderr
// ("2026-01-01 00:00:00,123 smrun INFO     Reporting training SUCCESS"). The one door to the
// logging library: spdlog is used in src/base/log.cpp only.
//
//   log::info("packed {} files", n);

#include <fmt/format.h>

#include <functional>
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

struct Line {
  Level level;
  std::string_view message;    // as given to write()
  std::string_view formatted;  // the whole line in the layout above, ending in '\n'
};

// Where lines go: by default each is written to stderr at once (whole, retried on EINTR). While
// a line sink is set, lines go to it instead, on the thread that logs; the supervisor sets one
// so that its own lines queue behind the workers' output in its non-blocking sink. The sink
// must not log. set_line_sink({}) restores stderr; returns the sink that was set.
using LineSink = std::function<void(const Line& line)>;
LineSink set_line_sink(LineSink sink);
bool line_sink_set();

// Sets a line sink for its lifetime and restores the previous one.
class ScopedLineSink {
 public:
  explicit ScopedLineSink(LineSink sink) : m_previous(set_line_sink(std::move(sink))) {}
  ~ScopedLineSink() { set_line_sink(std::move(m_previous)); }
  ScopedLineSink(const ScopedLineSink&) = delete;
  ScopedLineSink& operator=(const ScopedLineSink&) = delete;

 private:
  LineSink m_previous;
};

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
