#include "smrun/cluster/cluster_config.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace smrun::cluster {

base::Status validate(const ClusterConfig& config) {
  auto bad = [](std::string message) { return base::fail(base::ErrorKind::kConfig, message); };
  if (config.hosts.size() < 2) return bad("cluster: a control channel needs at least 2 hosts");
  std::set<std::string> seen;
  for (const auto& host : config.hosts) {
    if (host.empty()) return bad("cluster: empty host name in the host list");
    if (!seen.insert(host).second) return bad(fmt::format("cluster: host {} listed twice", host));
  }
  if (!seen.contains(config.current_host))
    return bad(fmt::format("cluster: current host \"{}\" is not one of the distribution hosts",
                           config.current_host));
  if (!seen.contains(config.master_host))
    return bad(fmt::format("cluster: master host \"{}\" is not one of the distribution hosts",
                           config.master_host));
  if (config.port == 0) return bad("SMRUN_CONTROL_PORT: expected a port number 1-65535");
  using std::chrono::milliseconds;
  if (config.host_wait <= milliseconds::zero())
    return bad("SMRUN_HOST_WAIT_SECONDS: expected a positive number of seconds");
  if (config.heartbeat_interval <= milliseconds::zero())
    return bad("cluster: heartbeat interval must be positive");
  if (config.heartbeat_timeout <= config.heartbeat_interval)
    return bad(fmt::format(
        "SMRUN_HEARTBEAT_TIMEOUT_SECONDS: expected more than the heartbeat interval ({} ms)",
        config.heartbeat_interval.count()));
  if (config.verdict_wait <= milliseconds::zero())
    return bad("SMRUN_VERDICT_WAIT_SECONDS: expected a positive number of seconds");
  return {};
}

}  // namespace smrun::cluster
