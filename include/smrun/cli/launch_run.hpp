#pragma once

// The run step of `train`, for every launcher: the single process (the one-rank case), the native
// gang (torchrun's worker contract), the torchrun delegate and MPI; across hosts through the
// cluster control channel. Plans this host's processes, supervises them, agrees on the job's
// verdict with the other hosts, and ends the job: packs and reports success, or reports the
// root cause first. Sets ctx.program_time to how long the processes ran.

#include "smrun/cli/job_context.hpp"
#include "smrun/launch/launch_topology.hpp"
#include "smrun/launch/process_plan.hpp"
#include "smrun/supervise/supervisor.hpp"

namespace smrun::cli {

int run_launch_plan(JobContext& ctx, const launch::ProcessPlan& process,
                    const launch::LaunchTopology& topology, supervise::SuperviseOptions options);

}  // namespace smrun::cli
