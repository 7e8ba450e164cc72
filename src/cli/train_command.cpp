// `smrun train`: the reference's trainer.train(), as one PID-1-safe pass:
// config -> environment -> user code -> install -> run under supervision -> report -> pack.

#include <fmt/format.h>

#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cxxopts.hpp>
#include <filesystem>

#include "smrun/base/exit_code.hpp"
#include "smrun/base/log.hpp"
#include "smrun/base/printable.hpp"
#include "smrun/base/secrets.hpp"
#include "smrun/base/sys_error.hpp"
#include "smrun/cli/commands.hpp"
#include "smrun/cli/help.hpp"
#include "smrun/cli/job_context.hpp"
#include "smrun/cli/launch_run.hpp"
#include "smrun/cli/s3_setup.hpp"
#include "smrun/cli/train_steps.hpp"
#include "smrun/cli/version.hpp"
#include "smrun/code/entry_point.hpp"
#include "smrun/code/submit_dir.hpp"
#include "smrun/launch/launch_topology.hpp"
#include "smrun/launch/launcher.hpp"
#include "smrun/launch/process_plan.hpp"
#include "smrun/pack/pack.hpp"
#include "smrun/report/failure_report.hpp"
#include "smrun/report/outcome_files.hpp"
#include "smrun/supervise/signals.hpp"
#include "smrun/supervise/supervisor.hpp"

namespace smrun::cli {
namespace {

namespace fs = std::filesystem;

int run_job(JobContext& ctx);

// The model and output dirs must take files before the program spends hours training: an
// unwritable one would only show at the end, when the model cannot be packed or the outcome not
// written. A probe file is created and removed in each.
base::Status ensure_writable_directories(const config::MlPaths& paths) {
  std::error_code code_ec;  // the code dir may well be read-only (prefilled): best effort
  fs::create_directories(paths.code, code_ec);
  for (const auto& dir : {paths.model, paths.output, paths.output_data}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
      return base::fail(base::ErrorKind::kInternal,
                        fmt::format("cannot create {}: {}", dir.string(), ec.message()));
    std::string probe = (dir / ".smrun-write-check-XXXXXX").string();
    const int fd = ::mkstemp(probe.data());
    if (fd < 0)
      return base::fail(base::ErrorKind::kInternal,
                        fmt::format("cannot write to {}: {}; the program was not started, since "
                                    "its model and outcome could not be saved",
                                    dir.string(), base::errno_text(errno)));
    ::close(fd);
    ::unlink(probe.c_str());
  }
  return {};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One line that says what this run is: smrun's version, where it runs, how and on what.
void log_banner(const JobContext& ctx) {
  const auto& hosts = ctx.job.resource.hosts;
  std::string host_list;
  for (std::size_t i = 0; i < hosts.size() && i < 8; ++i)
    host_list += (i == 0 ? "" : ",") + hosts[i];
  if (hosts.size() > 8) host_list += fmt::format(",... ({} in all)", hosts.size());
  auto choice = launch::select_launcher(ctx.training);
  const auto& d = ctx.training.devices;
  log::info("{} on {}: hosts {}; launcher {}; {} CPUs, {} GPUs, {} Neuron cores", version_line(),
            ctx.hostname, host_list, choice ? launch::launcher_name(choice->launcher) : "?", d.cpus,
            d.gpus, d.neurons);
}

// pip/setup.py install, supervised like the user program so SIGTERM still works.
std::optional<int> run_install(const launch::ProcessPlan& plan, const JobContext& ctx,
                               const supervise::SuperviseOptions& options) {
  if (!plan.install_command) return std::nullopt;
  log::info("Installing dependencies: {}", display_command(*plan.install_command));
  auto result = supervise::run_supervised(
      {launch::install_spec(plan, ctx.process_env, ctx.hostname)}, options);
  if (!result) return fail_job(result.error(), &ctx.paths, ctx.hostname, ctx.secret_values);
  if (result->exit_code() == 0) {
    if (result->received_signal == 0) return std::nullopt;
    // pip finished, but the platform asked us to stop meanwhile: do not start training.
    return finish_job(
        report::stopped(result->received_signal,
                        "starting the user program (during dependency installation)", ctx.hostname),
        ctx);
  }
  const supervise::WorkerResult& w = result->workers.front();
  std::string why = w.exec_failed
                        ? w.exec_error
                        : fmt::format("{} failed with exit code {}",
                                      display_command(*plan.install_command), result->exit_code());
  if (result->received_signal != 0)
    why += fmt::format(" (interrupted by {})", supervise::signal_name(result->received_signal));
  // pip's own verdict ("ERROR: No matching distribution found for ...") leads, ahead of the retry
  // warnings that fill its output; then the output's last lines.
  std::string detail;
  if (const auto errors = report::error_lines(w.stderr_tail); !errors.empty()) {
    why += ": " + errors.back();
    for (const auto& line : errors) detail += line + "\n";
    detail += "\nLast lines of the output:\n";
  }
  detail += w.stderr_tail;
  int code = fail_job(base::Error(base::ErrorKind::kInstall, why), &ctx.paths, ctx.hostname,
                      ctx.secret_values, report::scrub_secrets(detail, ctx.secret_values));
  // Interrupted installs exit like an interrupted job, so the platform sees the signal.
  return result->received_signal != 0 ? base::exit_code_for_signal(result->received_signal) : code;
}

// Everything `train` does, up to its exit code; program_time is set once the program started.
int train(env::EnvSnapshot process_env,
          std::optional<std::chrono::steady_clock::duration>& program_time) {
  supervise::become_subreaper();

  // This run's outcome must be the only one in output/: files an earlier run left there are
  // moved aside first (before anything, even a config error, can be reported).
  {
    const config::MlPaths paths = config::ml_paths(base_dir(process_env));
    auto moved = report::set_aside_previous_outcomes(paths.output);
    if (!moved) {
      log::warn("{}", moved.error().message);
    } else {
      for (const auto& [from, to] : *moved)
        log::info("{} is from an earlier run: moved it to {}", from.string(), to.string());
    }
  }

  auto loaded = load_job_context(std::move(process_env));
  if (!loaded) {
    const JobContextError& e = loaded.error();
    return fail_job(e.error, e.paths ? &*e.paths : nullptr, e.hostname, {});
  }
  JobContext& ctx = *loaded;
  log_banner(ctx);
  if (auto writable = ensure_writable_directories(ctx.paths); !writable)
    return fail_job(writable.error(), &ctx.paths, ctx.hostname, ctx.secret_values);
  // Intermediate output (sagemaker_s3_output) is uploaded while the job runs; once its outcome
  // is written, on every path, a final pass and a bounded wait. Never changes the exit code.
  auto sync = start_intermediate_sync(ctx);
  if (!sync) return fail_job(sync.error(), &ctx.paths, ctx.hostname, ctx.secret_values);
  const int code = run_job(ctx);
  program_time = ctx.program_time;
  if (*sync) (*sync)->finish();
  return code;
}

double own_cpu_seconds() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

int run_train_command(const std::vector<std::string>& args, env::EnvSnapshot process_env) {
  if (!args.empty() && (args.front() == "--help" || args.front() == "-h")) {
    fmt::print("{}", command_help("train"));
    return base::kExitSuccess;
  }
  // SageMaker passes only "train"; extra words are a mistake we should not guess about.
  if (!args.empty())
    return usage_error("train", fmt::format("train takes no arguments (got '{}'); settings come "
                                            "from the environment",
                                            base::printable(args.front())));
  const auto started = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::duration> program_time;
  const int code = train(std::move(process_env), program_time);
  // The last line, on every path: the verdict, how long the program itself ran, and the CPU
  // time smrun itself used (all its threads, not the program's processes): what supervising
  // cost, to a tenth of a millisecond (it is often a few milliseconds).
  const double total = seconds_since(started);
  const double own_cpu = own_cpu_seconds();
  if (program_time)
    log::info(
        "smrun finished with exit code {} after {:.3f} s; the program ran {:.3f} s; smrun used "
        "{:.4f} s of CPU",
        code, total, std::chrono::duration<double>(*program_time).count(), own_cpu);
  else
    log::info(
        "smrun finished with exit code {} after {:.3f} s; the program did not start; smrun used "
        "{:.4f} s of CPU",
        code, total, own_cpu);
  return code;
}

namespace {

// Fetch -> install -> run, report and pack (run_launch_plan, for every launcher).
int run_job(JobContext& ctx) {
  // User code: the reference fetches first, then classifies the entry point (it looks for
  // setup.py in what it fetched).
  if (auto entry = launch::require_entry_point(ctx.training); !entry)
    return fail_job(entry.error(), &ctx.paths, ctx.hostname, ctx.secret_values);
  if (auto st =
          code::prepare_code_dir(ctx.training.module_dir, ctx.paths.code, s3_code_fetcher(ctx));
      !st)
    return fail_job(st.error(), &ctx.paths, ctx.hostname, ctx.secret_values);
  auto plan = launch::make_process_plan(ctx.training, ctx.process_env, ctx.paths.code);
  if (!plan) {
    // A command entry point that is simply not there exits like a shell would: 127 (and the log
    // and failure file say so).
    const std::string entry = *ctx.training.user_entry_point;
    bool missing =
        code::classify_entry_point(entry, ctx.paths.code) == code::EntryPointKind::kCommand &&
        !code::command_entry_point_exists(entry, ctx.paths.code);
    return fail_job(plan.error(), &ctx.paths, ctx.hostname, ctx.secret_values, {},
                    missing ? std::optional<int>(base::kExitNotFound) : std::nullopt);
  }

  supervise::SuperviseOptions options;
  options.grace = ctx.training.settings.term_grace;
  if (auto stopped = stop_if_signalled(ctx, "installing dependencies")) return *stopped;
  if (auto failed = run_install(*plan, ctx, options)) return *failed;
  if (auto stopped = stop_if_signalled(ctx, "starting the user program")) return *stopped;

  auto topology = launch::plan_topology(ctx.training, ctx.process_env);
  if (!topology) return fail_job(topology.error(), &ctx.paths, ctx.hostname, ctx.secret_values);
  return run_launch_plan(ctx, *plan, *topology, options);
}

}  // namespace

}  // namespace smrun::cli
