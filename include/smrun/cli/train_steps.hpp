#pragma once

// Steps of `smrun train` shared by the single-process and the distributed paths.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smrun/base/error.hpp"
#include "smrun/cli/job_context.hpp"
#include "smrun/config/ml_paths.hpp"
#include "smrun/launch/process_plan.hpp"
#include "smrun/report/outcome.hpp"

namespace smrun::cli {

// argv for humans (logs, failure file), each argument shell-quoted where needed so the line
// can be pasted to rerun the command. Never executed.
std::string display_command(const std::vector<std::string>& argv);

// The command with every secret-looking hyperparameter value masked.
std::string redacted_command(const launch::ProcessPlan& plan, const JobContext& ctx);

// Where the job's outcome files go.
report::OutcomeFiles outcome_files(const config::MlPaths& paths);

// report::finish for this job (its paths and secrets): the one way a run of `train` ends.
int finish_job(const report::Outcome& outcome, const JobContext& ctx);

// Reports one of smrun's own errors through report::finish and returns its exit code: the error
// kind's, or `exit_code` when given (a missing command entry point ends with 127, as in a shell).
int fail_job(const base::Error& error, const config::MlPaths* paths, const std::string& host,
             const std::vector<std::string>& secrets, std::string_view detail = {},
             std::optional<int> exit_code = std::nullopt);

// A stop signal that arrived between supervised phases: reports it (report::stopped) and
// returns 128 + signal, or nullopt when no stop signal is pending.
std::optional<int> stop_if_signalled(const JobContext& ctx, std::string_view next_step);

// Packs the model (unless disabled), writes output/success, logs SUCCESS; returns the exit code.
int pack_and_succeed(const JobContext& ctx);

}  // namespace smrun::cli
