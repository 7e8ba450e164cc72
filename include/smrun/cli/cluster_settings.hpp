#pragma once

// The control channel's configuration for this job: its hosts from the topology, its port,
// waits, token and address overrides from smrun's settings (SMRUN_CONTROL_PORT, ...).

#include "smrun/base/expected.hpp"
#include "smrun/cluster/cluster_config.hpp"
#include "smrun/launch/launch_topology.hpp"
#include "smrun/settings/settings.hpp"

namespace smrun::cli {

base::Expected<cluster::ClusterConfig> cluster_config(const settings::Settings& settings,
                                                      const launch::LaunchTopology& topology,
                                                      const std::string& job_name);

}  // namespace smrun::cli
