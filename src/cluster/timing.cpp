#include "timing.hpp"

#include <fmt/format.h>

namespace smrun::cluster {

std::string format_duration(std::chrono::milliseconds duration) {
  auto ms = duration.count();
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  std::string text = fmt::format("{:.3f}", static_cast<double>(ms) / 1000.0);
  while (text.back() == '0') text.pop_back();
  return text + "s";
}

}  // namespace smrun::cluster
