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

// The waits between attempts at something that is not there yet (a master not yet listening):
// short at first, so a host joins within milliseconds of a peer that starts moments after it
// (hosts start together), then doubling up to `longest`, so a long wait stays quiet.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds first, std::chrono::milliseconds longest)
      : m_next(std::min(first, longest)), m_longest(longest) {}

  // The wait before the next attempt.
  std::chrono::milliseconds next() {
    auto wait = m_next;
    m_next = std::min(m_next * 2, m_longest);
    return wait;
  }

 private:
  std::chrono::milliseconds m_next;
  std::chrono::milliseconds m_longest;
};

}  // namespace smrun::cluster
