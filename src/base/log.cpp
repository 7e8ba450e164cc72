#include "smrun/base/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>

#include "smrun/base/fd_io.hpp"

namespace smrun::log {
namespace {

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::kTrace:
      return spdlog::level::trace;
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
    case Level::kCritical:
      return spdlog::level::critical;
  }
  return spdlog::level::info;
}

// The Python logging level names the reference prints, padded to 8 ("INFO    ").
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

Level from_spdlog(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return Level::kTrace;
    case spdlog::level::debug:
      return Level::kDebug;
    case spdlog::level::warn:
      return Level::kWarn;
    case spdlog::level::err:
      return Level::kError;
    case spdlog::level::critical:
      return Level::kCritical;
    default:
      return Level::kInfo;
  }
}

// The one place lines leave: the line sink when one is set, else stderr (one write per line,
// so a line never mixes with another writer's; nothing is buffered, so nothing is lost on exit).
std::mutex g_sink_mutex;
LineSink g_line_sink;

class LineSinkAdapter final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buffer;
    formatter_->format(msg, buffer);
    const Line line{from_spdlog(msg.level),
                    std::string_view(msg.payload.data(), msg.payload.size()),
                    std::string_view(buffer.data(), buffer.size())};
    std::lock_guard lock(g_sink_mutex);
    if (g_line_sink)
      g_line_sink(line);
    else
      (void)base::write_all(2, line.formatted);  // nowhere left to report a failed log write
  }
  void flush_() override {}
};

}  // namespace

LineSink set_line_sink(LineSink sink) {
  std::lock_guard lock(g_sink_mutex);
  std::swap(g_line_sink, sink);
  return sink;
}

namespace {

// smrun's logger, made on first use (tests log without setup()); never spdlog's default
// logger, so nothing else can replace where smrun's lines go.
spdlog::logger& logger() {
  static const std::shared_ptr<spdlog::logger> instance = [] {
    auto made = std::make_shared<spdlog::logger>("smrun", std::make_shared<LineSinkAdapter>());
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<PythonLevelFlag>('*').set_pattern("%Y-%m-%d %H:%M:%S,%e smrun %* %v");
    made->set_formatter(std::move(formatter));
    made->set_level(spdlog::level::info);
    return made;
  }();
  return *instance;
}

}  // namespace

bool line_sink_set() {
  std::lock_guard lock(g_sink_mutex);
  return static_cast<bool>(g_line_sink);
}

void setup() {
  logger().set_level(spdlog::level::info);
}

void set_level(Level level) {
  logger().set_level(to_spdlog(level));
}

bool enabled(Level level) {
  return logger().should_log(to_spdlog(level));
}

void write(Level level, std::string_view message) {
  logger().log(to_spdlog(level), "{}", message);
}

}  // namespace smrun::log
