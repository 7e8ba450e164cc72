#pragma once

// Settings of the control channel between the smrun processes of a multi-host job. The caller
// (the CLI) fills this from resourceconfig.json and the SMRUN_* environment; this area never
// reads the environment itself. Defaults and variable names are documented in
// docs/cluster-protocol.md.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "smrun/base/expected.hpp"

namespace smrun::cluster {

// SMRUN_CONTROL_PORT. Distinct from the torch MASTER_PORT (7777) and Neuron's 62182.
inline constexpr std::uint16_t kDefaultControlPort = 7780;
// SMRUN_HOST_WAIT_SECONDS: how long the pre-launch barrier waits for every host.
inline constexpr std::chrono::milliseconds kDefaultHostWait{300'000};
inline constexpr std::chrono::milliseconds kDefaultHeartbeatInterval{250};
// SMRUN_HEARTBEAT_TIMEOUT_SECONDS: a peer silent for this long is lost (= failed).
inline constexpr std::chrono::milliseconds kDefaultHeartbeatTimeout{5'000};
// SMRUN_VERDICT_WAIT_SECONDS: once the master's own workers are done, how long it waits for
// the other hosts' DONE before declaring the missing ones failed.
inline constexpr std::chrono::milliseconds kDefaultVerdictWait{300'000};

struct ClusterConfig {
  std::string job_name;              // TRAINING_JOB_NAME / sagemaker_job_name; must match
  std::optional<std::string> token;  // SMRUN_CLUSTER_TOKEN; proven, never sent in clear
  std::vector<std::string> hosts;    // distribution hosts in rank order (hosts[i] = node rank i)
  std::string current_host;          // this host, one of hosts
  std::string master_host;           // usually hosts[0]; listens, decides the verdict
  std::uint16_t port = kDefaultControlPort;
  std::chrono::milliseconds host_wait = kDefaultHostWait;
  std::chrono::milliseconds heartbeat_interval = kDefaultHeartbeatInterval;
  std::chrono::milliseconds heartbeat_timeout = kDefaultHeartbeatTimeout;
  std::chrono::milliseconds verdict_wait = kDefaultVerdictWait;
  // SMRUN_HOST_ADDRESSES (settings::Settings::host_addresses): host name -> numeric address,
  // consulted before getaddrinfo (tests put every simulated host on its own 127.0.0.N).
  std::map<std::string, std::string> address_overrides;
};

// Checks the invariants join() relies on (current and master host listed, no duplicate host,
// positive durations, heartbeat_timeout > heartbeat_interval). Errors are kConfig.
base::Status validate(const ClusterConfig& config);

}  // namespace smrun::cluster
