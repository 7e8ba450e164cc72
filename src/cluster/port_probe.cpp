#include "smrun/cluster/port_probe.hpp"
#include "smrun/base/log.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "smrun/cluster/address.hpp"
#include "socket_ops.hpp"
#include "timing.hpp"

namespace smrun::cluster {
namespace {

// Each attempt is short so the channel is serviced well within a heartbeat interval.
constexpr auto kAttemptTimeout = std::chrono::milliseconds(200);
constexpr auto kRetryPause = std::chrono::milliseconds(100);

// "" when `host` accepts on `port`, else why not.
std::string try_connect(const std::string& host, std::uint16_t port,
                        const std::map<std::string, std::string>& overrides) {
  auto address = resolve_host(host, port, overrides);
  if (!address) return "name does not resolve: " + address.error().message;
  auto fd = start_connect(*address, nullptr);
  if (!fd) return address->text + ": " + fd.error().message;
  if (auto done = finish_connect(fd->get(), Clock::now() + kAttemptTimeout); !done)
    return address->text + ": " + done.error().message;
  return "";
}

}  // namespace

base::Status wait_for_listeners(const std::vector<std::string>& hosts, std::uint16_t port,
                                const std::map<std::string, std::string>& address_overrides,
                                std::chrono::milliseconds limit, ControlChannel& channel) {
  const auto deadline = Clock::now() + limit;
  std::map<std::string, std::string> waiting;
  for (const auto& host : hosts) waiting[host] = "not tried";
  while (true) {
    for (auto it = waiting.begin(); it != waiting.end();) {
      it->second = try_connect(it->first, port, address_overrides);
      if (it->second.empty()) {
        log::info("{} accepts connections on port {}", it->first, port);
        it = waiting.erase(it);
      } else {
        ++it;
      }
    }
    if (waiting.empty()) return {};
    if (Clock::now() >= deadline) {
      std::string missing;
      for (const auto& [host, reason] : waiting)
        missing += fmt::format("{}{} ({})", missing.empty() ? "" : ", ", host, reason);
      return base::fail(base::ErrorKind::kCluster,
                        fmt::format("SSH daemons not reachable after {} on port {} "
                                    "(SMRUN_HOST_WAIT_SECONDS, SMRUN_MPI_SSH_PORT): {}",
                                    format_duration(limit), port, missing));
    }
    const auto pause = std::min<std::chrono::milliseconds>(
        kRetryPause, std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()));
    for (const auto& event : channel.wait_for_events(std::max(pause, {})))
      if (event.kind == ClusterEvent::Kind::kAbort)
        return base::fail(base::ErrorKind::kCluster,
                          "job aborted while waiting for SSH daemons: " + describe(event.failure));
  }
}

}  // namespace smrun::cluster
