#pragma once

// `train` for launchers other than the single process: the native gang (torchrun's worker
// contract), the torchrun delegate, and MPI; across hosts through the cluster control channel.

#include "smrun/cli/job_context.hpp"
#include "smrun/launch/launch_topology.hpp"
#include "smrun/launch/process_plan.hpp"
#include "smrun/supervise/supervisor.hpp"

namespace smrun::cli {

int run_distributed(const JobContext& ctx, const launch::ProcessPlan& single,
                    const launch::LaunchTopology& topology, supervise::SuperviseOptions options);

}  // namespace smrun::cli
