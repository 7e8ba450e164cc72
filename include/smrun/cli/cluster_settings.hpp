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

// SMRUN_MPI_SSH_PORT: where the MPI master looks for the other hosts' SSH daemons (default 22).
base::Expected<std::uint16_t> read_mpi_ssh_port(const env::EnvSnapshot& env);

}  // namespace smrun::cli
