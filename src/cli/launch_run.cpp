#include "smrun/cli/launch_run.hpp"
#include "smrun/base/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "smrun/base/exit_code.hpp"
#include "smrun/base/secrets.hpp"
#include "smrun/cli/channel_hooks.hpp"
#include "smrun/cli/cluster_settings.hpp"
#include "smrun/cli/train_steps.hpp"
#include "smrun/cluster/address.hpp"
#include "smrun/cluster/port_probe.hpp"
#include "smrun/config/py_json.hpp"
#include "smrun/env/devices.hpp"
#include "smrun/launch/launch_plan.hpp"
#include "smrun/launch/mpi_plan.hpp"
#include "smrun/metrics/recorder.hpp"
#include "smrun/report/failure_report.hpp"
#include "smrun/report/mpirun_output.hpp"
#include "smrun/report/outcome_files.hpp"
#include "smrun/supervise/signals.hpp"

namespace smrun::cli {
namespace {

namespace fs = std::filesystem;

// The message a torchelastic @record error file carries ("ValueError: bad lr"), if any.
struct ErrorFileInfo {
  std::string message;
  std::string callstack;
};
std::optional<ErrorFileInfo> read_error_file(const fs::path& path) {
  if (path.empty()) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto doc = config::parse_py_json(text);
  if (!doc || !doc->is_dict()) return std::nullopt;
  const config::PyValue* m = doc->find("message");
  if (m == nullptr) return std::nullopt;
  ErrorFileInfo info;
  if (m->is_str()) {
    info.message = m->as_str();
  } else if (m->is_dict()) {
    if (const config::PyValue* inner = m->find("message"); inner != nullptr && inner->is_str())
      info.message = inner->as_str();
    if (const config::PyValue* extra = m->find("extraInfo"); extra != nullptr && extra->is_dict())
      if (const config::PyValue* stack = extra->find("py_callstack");
          stack != nullptr && stack->is_str())
        info.callstack = stack->as_str();
  }
  if (info.message.empty()) return std::nullopt;
  return info;
}

struct RunContext {
  const JobContext& ctx;
  const launch::LaunchPlan& plan;
  const launch::ProcessPlan& process;
  // Each failed process is described once, when the supervisor first sees it fail (the channel
  // learns of it then); the local verdict reuses that record, so the verdict's root cause can be
  // recognised as this host's own failure.
  std::map<std::size_t, cluster::FailureRecord> described;
};

// The plan's spec of a supervised worker (results keep the specs' order).
const supervise::ProcessSpec* spec_of(const RunContext& rc, const supervise::WorkerResult& w) {
  return w.index < rc.plan.processes.size() ? &rc.plan.processes[w.index] : nullptr;
}

cluster::FailureRecord make_record(const RunContext& rc, const supervise::WorkerResult& w) {
  cluster::FailureRecord record;
  record.host = rc.ctx.hostname;
  const supervise::ProcessSpec* spec = spec_of(rc, w);
  record.rank = spec != nullptr ? spec->rank : std::nullopt;
  record.exit_code = w.exit.exit_code;
  record.signal = w.exit.signal;
  record.unix_ms = cluster::unix_ms_now();
  std::optional<ErrorFileInfo> info;
  if (spec != nullptr) info = read_error_file(spec->error_file);
  record.message =
      w.exec_failed ? w.exec_error : (info ? info->message : report::exception_line(w.stderr_tail));
  // mpirun exits with the first failed rank's status; its stderr says which rank that was.
  if (rc.plan.topology.choice.launcher == launch::Launcher::kMpi && !w.exec_failed) {
    if (auto mpi = report::parse_mpirun_failure(w.stderr_tail, rc.plan.topology.hosts,
                                                rc.plan.topology.nproc_per_node)) {
      if (!mpi->host.empty()) record.host = mpi->host;
      record.rank = mpi->rank;
      record.exit_code = mpi->exit_code;
      record.signal = mpi->signal;
      if (auto line = report::exception_line(mpi->stderr_text); !line.empty())
        record.message = line;
    }
  }
  record.message = report::scrub_secrets(record.message, rc.ctx.secret_values);
  // A process that ran and failed may succeed when started again; one that could not start
  // at all (missing program, bad interpreter) will not.
  record.restartable = !w.exec_failed;
  return record;
}

cluster::FailureRecord describe_worker(RunContext& rc, const supervise::WorkerResult& w) {
  auto it = rc.described.find(w.index);
  if (it == rc.described.end()) it = rc.described.emplace(w.index, make_record(rc, w)).first;
  return it->second;
}

cluster::LocalVerdict local_verdict(RunContext& rc, const supervise::RunResult& result) {
  cluster::LocalVerdict v;
  v.exit_code = result.exit_code();
  if (v.exit_code != 0 && result.first_failure)
    v.failure = describe_worker(rc, result.workers[*result.first_failure]);
  return v;
}

bool same_record(const cluster::FailureRecord& a, const cluster::FailureRecord& b) {
  return a.host == b.host && a.rank == b.rank && a.exit_code == b.exit_code &&
         a.signal == b.signal && a.unix_ms == b.unix_ms && a.message == b.message;
}

// The failure file when the root cause is one of this host's own processes: everything only
// this host knows (the command, the stderr tail, the error file's callstack). A process that
// could not be started at all is a CodeError, like the reference's missing-program error.
std::string local_failure_text(const RunContext& rc, const supervise::RunResult& result,
                               const cluster::FailureRecord& root,
                               const supervise::SuperviseOptions& options) {
  const supervise::WorkerResult& w = result.workers[*result.first_failure];
  if (w.exec_failed)
    return report::compose_error_report(base::Error(base::ErrorKind::kCode, root.message),
                                        rc.ctx.hostname);
  report::FailureFacts facts;
  facts.host = root.host;
  facts.rank = root.rank;
  facts.program = rc.process.entry_point;
  facts.exit_code = root.exit_code;
  facts.signal = root.signal;
  facts.grace_seconds = static_cast<int>(options.grace.count());
  if (!root.message.empty()) facts.error_detail = root.message;
  facts.stderr_tail = w.stderr_tail;
  facts.core_dumped = w.exit.core_dumped;
  facts.killed_after_grace = result.killed_after_grace;
  facts.killed_on_second_interrupt = result.killed_on_second_interrupt;
  facts.received_signal = result.received_signal;
  facts.command = redacted_command(rc.process, rc.ctx);
  if (const supervise::ProcessSpec* spec = spec_of(rc, w))
    if (auto info = read_error_file(spec->error_file); info && !info->callstack.empty())
      facts.stderr_tail = info->callstack + "\n" + info->message + "\n\n" + w.stderr_tail;
  return report::compose_failure_report(facts);
}

// The failure file when the root cause is elsewhere: another host's process, a host that was
// stopped, or the cluster itself.
std::string remote_failure_text(const cluster::FailureRecord& root, const std::string& program,
                                const supervise::SuperviseOptions& options) {
  if (!root.rank && root.signal == 0 && root.exit_code == base::kExitCluster)
    return fmt::format("ClusterError: {}\n", root.message);
  if (!root.rank && root.signal != 0) return fmt::format("Stopped: {}\n", root.message);
  report::FailureFacts facts;
  facts.host = root.host;
  facts.rank = root.rank;
  facts.program = program;
  facts.exit_code = root.exit_code;
  facts.signal = root.signal;
  facts.grace_seconds = static_cast<int>(options.grace.count());
  if (!root.message.empty()) facts.error_detail = root.message;
  return report::compose_failure_report(facts);
}

// Before mpirun starts, every other host's SSH daemon must accept connections (they start it
// right after the barrier). Skipped when smrun runs no daemon (SMRUN_MPI_SSHD=[]).
base::Status wait_for_ssh_daemons(const JobContext& ctx, const launch::LaunchTopology& topology,
                                  const cluster::ClusterConfig& ccfg,
                                  cluster::ControlChannel& channel) {
  if (ctx.training.settings.mpi_sshd.empty()) return {};
  const std::uint16_t port = ctx.training.settings.mpi_ssh_port;
  std::vector<std::string> others;
  for (const auto& host : topology.hosts)
    if (host != topology.current_host) others.push_back(host);
  log::info("waiting for the SSH daemons of {} host(s) on port {}", others.size(), port);
  return cluster::wait_for_listeners(
      others, port, ccfg.address_overrides,
      std::chrono::duration_cast<std::chrono::milliseconds>(ccfg.host_wait), channel);
}

// Where TORCHELASTIC_ERROR_FILE paths are planned; created only for the processes that get one.
fs::path error_dir() {
  return fs::temp_directory_path() / fmt::format("smrun-{}", ::getpid());
}

void log_invocation(const launch::ProcessPlan& process, const JobContext& ctx) {
  log::info("Invoking user script: {}", redacted_command(process, ctx));
  env::EnvList display_env = env::sm_environment(ctx.display);
  display_env.append(env::process_extras(ctx.display, ctx.process_env));
  for (const auto& [k, v] : display_env.entries())
    log::debug("env {}={}", k, base::is_secret_name(k) ? base::kRedacted : v);
}

// Metrics (SMRUN_METRIC_DEFINITIONS, SMRUN_METRIC_INTERVAL_SECONDS) for every attempt of the
// job, or null when neither is set. Metrics never fail a job: a CSV that cannot be created is a
// warning.
std::unique_ptr<metrics::Recorder> start_metrics(const JobContext& ctx) {
  const settings::Settings& s = ctx.training.settings;
  const bool sampling_set = s.metric_interval && *s.metric_interval > 0;
  if (s.metric_definitions.empty() && !sampling_set) return nullptr;
  metrics::RecorderOptions options;
  options.csv = ctx.paths.output_data / metrics::kCsvName;
  options.svg = ctx.paths.output_data / metrics::kSvgName;
  options.host = ctx.hostname;
  options.definitions = s.metric_definitions;
  options.interval = std::chrono::seconds(s.metric_interval.value_or(5));
  // GPU use only where GPUs were found (or declared with SMRUN_NUM_GPUS) and nvidia-smi exists.
  if (ctx.training.devices.gpus > 0) {
    if (auto smi = env::resolve_on_path(ctx.process_env, "nvidia-smi"); !smi.empty()) {
      options.gpu_query.argv = {smi};
      for (const auto& [k, v] : ctx.process_env) options.gpu_query.env.push_back(k + "=" + v);
    }
  }
  auto recorder = metrics::Recorder::start(std::move(options));
  if (!recorder) {
    log::warn("metrics are not recorded: {}", recorder.error().message);
    return nullptr;
  }
  return std::move(*recorder);
}

// One attempt of the job: plan, supervise, verdict. `restart` is not 0 when the gang starts
// again (the caller loops); otherwise exit_code is the job's, outcome files written.
struct AttemptOutcome {
  int exit_code = 0;
  int restart = 0;
  std::string root_cause;  // describe() of the failure that caused the restart
};

AttemptOutcome run_attempt(JobContext& ctx, const launch::ProcessPlan& process,
                           const launch::LaunchTopology& topology,
                           supervise::SuperviseOptions options, const launch::PlanInputs& inputs,
                           cluster::ControlChannel* channel, const cluster::ClusterConfig& ccfg,
                           int restarts_left, const std::vector<std::string>& earlier_attempts) {
  auto done = [](int code) { return AttemptOutcome{code, 0, {}}; };
  auto plan = launch::make_launch_plan(topology, inputs);
  if (!plan) return done(fail_job(plan.error(), &ctx.paths, ctx.hostname, ctx.secret_values));
  for (const auto& note : plan->notes) log::info("{}", note);
  for (const auto& spec : plan->processes) {
    std::error_code ec;
    if (spec.error_file.empty()) continue;
    fs::create_directories(spec.error_file.parent_path(), ec);
    fs::remove(spec.error_file, ec);  // an earlier attempt's must not explain this one
  }

  RunContext rc{ctx, *plan, process, {}};
  std::optional<ChannelHooks> hooks;
  if (channel)
    hooks.emplace(*channel, ctx.hostname,
                  [&rc](const supervise::WorkerResult& w) { return describe_worker(rc, w); });
  options.hooks = hooks ? &*hooks : nullptr;
  options.prefix_output = plan->prefix_output;
  if (plan->rank_log_dir) options.log_dir = *plan->rank_log_dir;

  const bool mpi = topology.choice.launcher == launch::Launcher::kMpi;
  if (mpi && channel && topology.is_master) {
    if (auto waited = wait_for_ssh_daemons(ctx, topology, ccfg, *channel); !waited) {
      cluster::FailureRecord record{ctx.hostname,           std::nullopt,
                                    base::kExitCluster,     0,
                                    waited.error().message, cluster::unix_ms_now()};
      channel->report_failure(record);
      auto finished = channel->finish(cluster::LocalVerdict{base::kExitCluster, record});
      (void)finished;  // the verdict is this failure; fail_job reports it
      return done(fail_job(waited.error(), &ctx.paths, ctx.hostname, ctx.secret_values));
    }
  }

  if (inputs.restart_count == 0) log_invocation(process, ctx);
  const auto started = std::chrono::steady_clock::now();
  auto result = supervise::run_supervised(plan->processes, options);
  // Over all attempts.
  ctx.program_time = ctx.program_time.value_or(std::chrono::steady_clock::duration::zero()) +
                     (std::chrono::steady_clock::now() - started);
  if (!result) return done(fail_job(result.error(), &ctx.paths, ctx.hostname, ctx.secret_values));

  cluster::LocalVerdict local = local_verdict(rc, *result);
  // MPI worker hosts have nothing of their own to finish: mpirun's success ends their part.
  if (mpi && channel && topology.is_master && local.exit_code == 0) channel->release_workers();
  cluster::JobVerdict verdict;
  if (channel) {
    auto finished = channel->finish(local, restarts_left);
    if (!finished)
      return done(fail_job(finished.error(), &ctx.paths, ctx.hostname, ctx.secret_values));
    verdict = *finished;
  } else {
    verdict.exit_code = local.exit_code;
    verdict.failure = local.failure;
    // One host decides alone: a process failed on its own, no stop signal, restarts left.
    if (local.failure && local.failure->restartable && result->received_signal == 0 &&
        restarts_left > 0) {
      verdict.restart = inputs.restart_count + 1;
      log::warn("attempt {} failed: {}; starting every process again (restart {}, {} left)",
                verdict.restart, cluster::describe(*local.failure), verdict.restart,
                restarts_left - 1);
    }
  }
  if (verdict.restart != 0)
    return AttemptOutcome{verdict.exit_code, verdict.restart,
                          verdict.failure ? cluster::describe(*verdict.failure) : "a failure"};

  if (verdict.exit_code == 0) {
    // The program succeeded: a stop signal now must not cost the model, so packing still runs
    // (it is atomic and quick) and the job reports its real outcome.
    if (int sig = supervise::take_pending_stop_signal(); sig != 0)
      log::warn("received {} after the user program succeeded; finishing the model archive",
                supervise::signal_name(sig));
    return done(pack_and_succeed(ctx));
  }
  cluster::FailureRecord root = verdict.failure.value_or(cluster::FailureRecord{
      ctx.hostname, std::nullopt, verdict.exit_code, 0, "the job failed", cluster::unix_ms_now()});
  // The root cause is one of this host's processes (its own record came back as the verdict's),
  // or something elsewhere in the cluster (another host, a stopped host, the cluster itself).
  const bool here = local.failure && result->first_failure && same_record(root, *local.failure);
  std::string text = here ? local_failure_text(rc, *result, root, options)
                          : remote_failure_text(root, process.entry_point, options);
  if (!earlier_attempts.empty()) {
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += fmt::format(
        "\nThe gang was restarted {} time(s) (SMRUN_MAX_RESTARTS); earlier attempts failed "
        "with:\n",
        earlier_attempts.size());
    for (std::size_t i = 0; i < earlier_attempts.size(); ++i)
      text += fmt::format("  attempt {}: {}\n", i + 1, earlier_attempts[i]);
  }
  return done(finish_job(report::program_failed(std::move(text), verdict.exit_code,
                                                here ? report::OutcomeKind::kWorkerFailed
                                                     : report::OutcomeKind::kClusterFailed),
                         ctx));
}

}  // namespace

int run_launch_plan(JobContext& ctx, const launch::ProcessPlan& process,
                    const launch::LaunchTopology& topology, supervise::SuperviseOptions options) {
  for (const auto& note : topology.notes) log::info("{}", note);
  // The banner names the launcher; the layout is worth a line once there is more than one rank.
  if (topology.world_size() > 1 || topology.choice.launcher != launch::Launcher::kProcess)
    log::info("launcher {}: {} host(s) x {} process(es), this host {} is node {}{}",
              launch::launcher_name(topology.choice.launcher), topology.num_nodes(),
              topology.nproc_per_node, topology.current_host, topology.node_rank,
              topology.is_master ? " (master)" : "");

  std::unique_ptr<cluster::ControlChannel> channel;
  cluster::ClusterConfig ccfg;
  if (topology.num_nodes() > 1) {
    auto cfg =
        cluster_config(ctx.training.settings, topology, launch::torchelastic_run_id(ctx.training));
    if (!cfg) return fail_job(cfg.error(), &ctx.paths, ctx.hostname, ctx.secret_values);
    ccfg = *cfg;
    log::info("waiting for {} host(s) on the control channel (master {}, port {})",
              topology.num_nodes(), ccfg.master_host, ccfg.port);
    auto joined = cluster::ControlChannel::join(ccfg);
    if (!joined) return fail_job(joined.error(), &ctx.paths, ctx.hostname, ctx.secret_values);
    channel = std::move(*joined);
    log::info("all {} hosts joined", topology.num_nodes());
  }

  launch::PlanInputs inputs;
  inputs.training = &ctx.training;
  inputs.process_env = &ctx.process_env;
  inputs.process = &process;
  inputs.error_dir = error_dir();
  if (topology.resolve_master_addr) {
    auto addr = cluster::resolve_host(topology.master_host, 0, ccfg.address_overrides);
    if (!addr)
      return fail_job(
          base::Error(base::ErrorKind::kCluster, "cannot resolve master " + topology.master_host +
                                                     ": " + addr.error().message),
          &ctx.paths, ctx.hostname, ctx.secret_values);
    inputs.master_addr_ip = addr->text;
  }
  auto restarts = launch::max_restarts(ctx.training);
  if (!restarts) return fail_job(restarts.error(), &ctx.paths, ctx.hostname, ctx.secret_values);
  const bool mpi = topology.choice.launcher == launch::Launcher::kMpi;
  if (mpi && *restarts > 0) {
    log::warn("gang restarts ({}) are not available with the mpi launcher; not restarting",
              *restarts);
    *restarts = 0;
  }
  inputs.max_restarts = *restarts;

  // One attempt per iteration: a restartable failure with restarts left (decided here on one
  // host, by the master on several) starts every process again.
  std::vector<std::string> earlier_attempts;  // the root cause of each attempt restarted
  // The restart number comes from the verdict (the master's, on several hosts), so every host
  // counts the same.
  const std::unique_ptr<metrics::Recorder> recorder = start_metrics(ctx);
  options.observer = recorder.get();
  for (;;) {
    const int restarts_left = std::max(0, *restarts - inputs.restart_count);
    auto outcome = run_attempt(ctx, process, topology, options, inputs, channel.get(), ccfg,
                               restarts_left, earlier_attempts);
    if (outcome.restart == 0) {
      if (recorder) recorder->finish();
      return outcome.exit_code;
    }
    earlier_attempts.push_back(outcome.root_cause);
    inputs.restart_count = outcome.restart;
  }
}

}  // namespace smrun::cli
