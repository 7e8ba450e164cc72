#include "smrun/cli/distributed_run.hpp"
#include "smrun/base/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "smrun/base/exit_code.hpp"
#include "smrun/cli/channel_hooks.hpp"
#include "smrun/cli/cluster_settings.hpp"
#include "smrun/cli/settings.hpp"
#include "smrun/cli/train_steps.hpp"
#include "smrun/cluster/address.hpp"
#include "smrun/cluster/port_probe.hpp"
#include "smrun/config/py_json.hpp"
#include "smrun/launch/distributed_plan.hpp"
#include "smrun/launch/mpi_plan.hpp"
#include "smrun/report/failure_report.hpp"
#include "smrun/report/mpirun_output.hpp"
#include "smrun/report/outcome_files.hpp"

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
  const launch::DistributedPlan& plan;
};

// The plan's spec of a supervised worker (results keep the specs' order).
const supervise::ProcessSpec* spec_of(const RunContext& rc, const supervise::WorkerResult& w) {
  return w.index < rc.plan.processes.size() ? &rc.plan.processes[w.index] : nullptr;
}

cluster::FailureRecord describe_worker(const RunContext& rc, const supervise::WorkerResult& w) {
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
  return record;
}

cluster::LocalVerdict local_verdict(const RunContext& rc, const supervise::RunResult& result) {
  cluster::LocalVerdict v;
  v.exit_code = result.exit_code();
  if (v.exit_code != 0 && result.first_failure)
    v.failure = describe_worker(rc, result.workers[*result.first_failure]);
  return v;
}

std::string failure_text(const RunContext& rc, const supervise::RunResult& result,
                         const cluster::FailureRecord& root,
                         const std::optional<cluster::FailureRecord>& local_failure,
                         const std::string& program, const supervise::SuperviseOptions& options) {
  if (!root.rank && root.signal == 0 && root.exit_code == base::kExitCluster)
    return fmt::format("ClusterError: {}\n", root.message);
  report::FailureFacts facts;
  facts.host = root.host;
  facts.rank = root.rank;
  facts.program = program;
  facts.exit_code = root.exit_code;
  facts.signal = root.signal;
  facts.grace_seconds = static_cast<int>(options.grace.count());
  if (!root.message.empty()) facts.error_detail = root.message;
  // Local root cause: add what only this host knows (stderr tail, error-file callstack). With
  // MPI the root cause may name another host while its output came through the local mpirun.
  const bool local_root = local_failure && local_failure->host == root.host &&
                          local_failure->rank == root.rank &&
                          local_failure->unix_ms == root.unix_ms;
  if (local_root && result.first_failure) {
    const auto& w = result.workers[*result.first_failure];
    facts.stderr_tail = w.stderr_tail;
    facts.core_dumped = w.exit.core_dumped;
    facts.killed_after_grace = result.killed_after_grace;
    facts.killed_on_second_interrupt = result.killed_on_second_interrupt;
    facts.received_signal = result.received_signal;
    if (const supervise::ProcessSpec* spec = spec_of(rc, w))
      if (auto info = read_error_file(spec->error_file); info && !info->callstack.empty())
        facts.stderr_tail = info->callstack + "\n" + info->message + "\n\n" + w.stderr_tail;
  }
  if (!root.rank && root.signal != 0) return fmt::format("Stopped: {}\n", root.message);
  return report::compose_failure_report(facts);
}

// Before mpirun starts, every other host's SSH daemon must accept connections (they start it
// right after the barrier). Skipped when smrun runs no daemon (SMRUN_MPI_SSHD=[]).
base::Status wait_for_ssh_daemons(const JobContext& ctx, const launch::LaunchTopology& topology,
                                  const cluster::ClusterConfig& ccfg,
                                  cluster::ControlChannel& channel) {
  auto daemon = launch::mpi_daemon_command(ctx.process_env);
  if (!daemon) return base::Unexpected(daemon.error());
  if (daemon->empty()) return {};
  auto port = read_mpi_ssh_port(ctx.process_env);
  if (!port) return base::Unexpected(port.error());
  std::vector<std::string> others;
  for (const auto& host : topology.hosts)
    if (host != topology.current_host) others.push_back(host);
  log::info("waiting for the SSH daemons of {} host(s) on port {}", others.size(), *port);
  return cluster::wait_for_listeners(
      others, *port, ccfg.address_overrides,
      std::chrono::duration_cast<std::chrono::milliseconds>(ccfg.host_wait), channel);
}

fs::path make_error_dir() {
  fs::path dir = fs::temp_directory_path() / fmt::format("smrun-{}", ::getpid());
  std::error_code ec;
  fs::create_directories(dir, ec);
  return dir;
}

}  // namespace

int run_distributed(const JobContext& ctx, const launch::ProcessPlan& single,
                    const launch::LaunchTopology& topology, supervise::SuperviseOptions options) {
  for (const auto& note : topology.notes) log::info("{}", note);
  log::info("launcher {}: {} host(s) x {} process(es), this host {} is node {}{}",
            launch::launcher_name(topology.choice.launcher), topology.num_nodes(),
            topology.nproc_per_node, topology.current_host, topology.node_rank,
            topology.is_master ? " (master)" : "");

  std::unique_ptr<cluster::ControlChannel> channel;
  cluster::ClusterConfig ccfg;
  if (topology.num_nodes() > 1) {
    auto cfg =
        read_cluster_config(ctx.process_env, topology, launch::torchelastic_run_id(ctx.training));
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
  inputs.process = &single;
  inputs.error_dir = make_error_dir();
  if (topology.resolve_master_addr) {
    auto addr = cluster::resolve_host(topology.master_host, 0, ccfg.address_overrides);
    if (!addr)
      return fail_job(
          base::Error(base::ErrorKind::kCluster, "cannot resolve master " + topology.master_host +
                                                     ": " + addr.error().message),
          &ctx.paths, ctx.hostname, ctx.secret_values);
    inputs.master_addr_ip = addr->text;
  }
  auto plan = launch::make_distributed_plan(topology, inputs);
  if (!plan) return fail_job(plan.error(), &ctx.paths, ctx.hostname, ctx.secret_values);
  for (const auto& note : plan->notes) log::info("{}", note);
  for (const auto& spec : plan->processes) {
    std::error_code ec;
    if (!spec.error_file.empty()) fs::create_directories(spec.error_file.parent_path(), ec);
  }

  RunContext rc{ctx, *plan};
  std::optional<ChannelHooks> hooks;
  if (channel)
    hooks.emplace(*channel, ctx.hostname,
                  [&rc](const supervise::WorkerResult& w) { return describe_worker(rc, w); });
  options.hooks = hooks ? &*hooks : nullptr;
  options.prefix_output = topology.world_size() > 1;
  if (auto v = env::lookup(ctx.process_env, "SMRUN_LOG_PREFIX")) {
    auto on = parse_switch("SMRUN_LOG_PREFIX", *v);
    if (!on) return fail_job(on.error(), &ctx.paths, ctx.hostname, ctx.secret_values);
    options.prefix_output = *on;
  }
  if (auto v = env::lookup(ctx.process_env, "SMRUN_RANK_LOG_DIR"); v && !v->empty())
    options.log_dir = *v;

  const bool mpi = topology.choice.launcher == launch::Launcher::kMpi;
  if (mpi && channel && topology.is_master) {
    if (auto waited = wait_for_ssh_daemons(ctx, topology, ccfg, *channel); !waited) {
      cluster::FailureRecord record{ctx.hostname,           std::nullopt,
                                    base::kExitCluster,     0,
                                    waited.error().message, cluster::unix_ms_now()};
      channel->report_failure(record);
      auto finished = channel->finish(cluster::LocalVerdict{base::kExitCluster, record});
      (void)finished;  // the verdict is this failure; fail_job reports it
      return fail_job(waited.error(), &ctx.paths, ctx.hostname, ctx.secret_values);
    }
  }

  log::info("Invoking user script: {}", redacted_command(single, ctx));
  auto result = supervise::run_supervised(plan->processes, options);
  if (!result) return fail_job(result.error(), &ctx.paths, ctx.hostname, ctx.secret_values);

  cluster::LocalVerdict local = local_verdict(rc, *result);
  // MPI worker hosts have nothing of their own to finish: mpirun's success ends their part.
  if (mpi && channel && topology.is_master && local.exit_code == 0) channel->release_workers();
  cluster::JobVerdict verdict;
  if (channel) {
    auto finished = channel->finish(local);
    if (!finished) return fail_job(finished.error(), &ctx.paths, ctx.hostname, ctx.secret_values);
    verdict = *finished;
  } else {
    verdict.exit_code = local.exit_code;
    verdict.failure = local.failure;
  }

  if (verdict.exit_code == 0) return pack_and_succeed(ctx);
  cluster::FailureRecord root = verdict.failure.value_or(cluster::FailureRecord{
      ctx.hostname, std::nullopt, verdict.exit_code, 0, "the job failed", cluster::unix_ms_now()});
  // The root cause on this host is a worker failure here; anything else failed elsewhere in the
  // cluster (or the cluster itself).
  const bool here = root.host == ctx.hostname && (root.rank || root.signal == 0) &&
                    !(root.exit_code == base::kExitCluster && !root.rank);
  return finish_job(
      report::program_failed(
          failure_text(rc, *result, root, local.failure, single.entry_point, options),
          verdict.exit_code,
          here ? report::OutcomeKind::kWorkerFailed : report::OutcomeKind::kClusterFailed),
      ctx);
}

}  // namespace smrun::cli
