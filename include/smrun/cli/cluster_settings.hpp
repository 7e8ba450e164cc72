#pragma once

// The control channel's settings from the environment (SMRUN_CONTROL_PORT, ...), validated.

#include "smrun/base/expected.hpp"
#include "smrun/cluster/cluster_config.hpp"
#include "smrun/env/env_list.hpp"
#include "smrun/launch/launch_topology.hpp"

namespace smrun::cli {

base::Expected<cluster::ClusterConfig> read_cluster_config(const env::EnvSnapshot& env,
                                                           const launch::LaunchTopology& topology,
                                                           const std::string& job_name);

}  // namespace smrun::cli
