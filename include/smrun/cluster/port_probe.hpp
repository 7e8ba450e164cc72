#pragma once

// Waiting for the other hosts' SSH daemons before mpirun starts (the reference polls SSH to
// every worker, without a bound; here the wait is bounded and names who never answered).

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/cluster/control_channel.hpp"

namespace smrun::cluster {

// Returns once every host accepts a TCP connection on `port` (the connection is closed at
// once). Between attempts the channel is serviced (heartbeats, a peer's ABORT), so the other
// hosts do not take this host for lost. Errors (kCluster): an ABORT from a peer, or `limit`
// passed, naming each host that never accepted and its last reason:
// "SSH daemons not reachable after 300s on port 22: algo-2 (127.0.0.3: connection refused)".
base::Status wait_for_listeners(const std::vector<std::string>& hosts, std::uint16_t port,
                                const std::map<std::string, std::string>& address_overrides,
                                std::chrono::milliseconds limit, ControlChannel& channel);

}  // namespace smrun::cluster
