#pragma once

// Clock and duration text shared by the channel implementations (internal to src/cluster).

#include <algorithm>
#include <chrono>
#include <string>

namespace smrun::cluster {

using Clock = std::chrono::steady_clock;

// "30s", "1.5s", "250ms": for error messages that quote a configured wait.
std::string format_duration(std::chrono::milliseconds duration);

// Time left until `deadline`, rounded up to whole milliseconds so a poll() on it does not
// wake up a fraction of a millisecond early and spin; never negative.
inline std::chrono::milliseconds time_until(Clock::time_point deadline, Clock::time_point now) {
  if (deadline <= now) return std::chrono::milliseconds::zero();
  return std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
}

}  // namespace smrun::cluster
