#include "smrun/cluster/control_channel.hpp"

#include <cerrno>

#include "master_channel.hpp"
#include "timing.hpp"
#include "worker_channel.hpp"

namespace smrun::cluster {

base::Expected<std::unique_ptr<ControlChannel>> ControlChannel::join(const ClusterConfig& config) {
  if (auto valid = validate(config); !valid)
    return base::fail(valid.error().kind, valid.error().message);
  if (config.current_host == config.master_host) return MasterChannel::join(config);
  return WorkerChannel::join(config);
}

std::vector<ClusterEvent> ControlChannel::poll_once(Clock::time_point deadline) {
  std::vector<ClusterEvent> events;
  auto fds = poll_fds();
  auto now = Clock::now();
  auto wait = std::min(next_timeout(), time_until(deadline, now));
  int n = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
  if (n > 0) {
    for (const auto& p : fds) {
      if (p.revents == 0) continue;
      auto more = on_ready(p.fd, p.revents);
      events.insert(events.end(), more.begin(), more.end());
    }
  }
  auto more = tick();
  events.insert(events.end(), more.begin(), more.end());
  return events;
}

std::vector<ClusterEvent> ControlChannel::wait_for_events(std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  std::vector<ClusterEvent> events;
  while (events.empty() && Clock::now() < deadline) events = poll_once(deadline);
  return events;
}

}  // namespace smrun::cluster
