// `smrun local`: a whole job on this machine without Docker, root or the SDK. Wires the steps:
// job (flags and/or request) -> host trees -> one `smrun train` per host, supervised -> the
// job's archives -> the verdict.

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <cxxopts.hpp>
#include <filesystem>

#include "smrun/base/exit_code.hpp"
#include "smrun/base/log.hpp"
#include "smrun/base/printable.hpp"
#include "smrun/cli/commands.hpp"
#include "smrun/cli/help.hpp"
#include "smrun/local/artifacts.hpp"
#include "smrun/local/layout.hpp"
#include "smrun/local/local_job.hpp"
#include "smrun/settings/settings.hpp"
#include "smrun/supervise/signals.hpp"
#include "smrun/supervise/supervisor.hpp"

namespace smrun::cli {
namespace {

namespace fs = std::filesystem;

std::string timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", &tm);
  return text;
}

// This smrun's own path, so every host runs the same binary.
fs::path self_path() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path("/proc/self/exe") : p;
}

int fail_local(const base::Error& error) {
  log::error("smrun local: {}", error.message);
  return base::exit_code_for(error.kind);
}

}  // namespace

int run_local_command(const std::vector<std::string>& args, const env::EnvSnapshot& process_env) {
  cxxopts::Options parser("smrun local", "Run a whole job on this machine");
  // --hp and --channel may repeat; they are read in order from arguments(), as plain strings
  // (a vector option would split values at commas).
  parser.add_options()("job", "", cxxopts::value<std::string>())("hosts", "",
                                                                 cxxopts::value<std::string>())(
      "nproc-per-node", "", cxxopts::value<std::string>())("program", "",
                                                           cxxopts::value<std::string>())(
      "source-dir", "", cxxopts::value<std::string>())("hp", "", cxxopts::value<std::string>())(
      "channel", "", cxxopts::value<std::string>())("instance-type", "",
                                                    cxxopts::value<std::string>())(
      "output", "", cxxopts::value<std::string>())("job-name", "", cxxopts::value<std::string>())(
      "checkpoint-dir", "", cxxopts::value<std::string>())(
      "first-address", "", cxxopts::value<std::string>())("h,help", "");
  auto parsed = parse_command_line(parser, "local", args);
  if (const int* code = std::get_if<int>(&parsed)) return *code;
  const cxxopts::ParseResult& opts = std::get<cxxopts::ParseResult>(parsed);

  local::LocalArgs la;
  for (const cxxopts::KeyValue& kv : opts.arguments()) {
    const std::string& key = kv.key();
    const std::string& value = kv.value();
    if (key == "job")
      la.request = value;
    else if (key == "hosts")
      la.hosts = value;
    else if (key == "nproc-per-node")
      la.nproc_per_node = value;
    else if (key == "program")
      la.program = value;
    else if (key == "source-dir")
      la.source = value;
    else if (key == "hp")
      la.hyperparameters.push_back(value);
    else if (key == "channel")
      la.channels.push_back(value);
    else if (key == "instance-type")
      la.instance_type = value;
    else if (key == "output")
      la.output = value;
    else if (key == "job-name")
      la.job_name = value;
    else if (key == "checkpoint-dir")
      la.checkpoint_dir = value;
  }

  // The hosts' stop grace decides how long this smrun waits after forwarding a stop.
  auto settings = settings::read_settings(process_env);
  if (!settings) return fail_local(settings.error());

  auto job = local::make_local_job(la, timestamp());
  if (!job) return fail_local(job.error());
  auto network = local::choose_network(
      job->hosts, opts.count("first-address") ? opts["first-address"].as<std::string>() : "");
  if (!network) return fail_local(network.error());
  auto hosts = local::write_layout(*job, *network);
  if (!hosts) return fail_local(hosts.error());

  std::vector<std::string> base_env;
  for (const auto& [k, v] : process_env) base_env.push_back(k + "=" + v);
  auto specs = local::host_processes(*job, *network, *hosts, self_path(), base_env);

  log::info("smrun local: job {} on {} host{} ({}{}), in {}", job->job_name, job->hosts,
            job->hosts == 1 ? "" : "s",
            fmt::format("{} to {}", hosts->front().address, hosts->back().address),
            job->nproc_per_node ? fmt::format(", {} ranks each", *job->nproc_per_node) : "",
            job->output_dir.string());

  supervise::become_subreaper();
  supervise::SuperviseOptions options;
  // Each host forwards a stop to its ranks and waits its own grace; this smrun waits longer, so
  // the hosts can still report and clean up.
  options.grace = settings->term_grace + std::chrono::seconds(15);
  options.prefix_output = true;
  options.fail_fast = false;
  const auto started = std::chrono::steady_clock::now();
  auto result = supervise::run_supervised(specs, options);
  if (!result) return fail_local(result.error());

  std::vector<local::HostEnd> ends;
  for (std::size_t i = 0; i < hosts->size(); ++i)
    ends.push_back(
        {(*hosts)[i].name, result->workers[i].exit.exit_code, local::failure_line((*hosts)[i])});
  int code = local::job_exit_code(ends);
  if (code == 0 && result->received_signal != 0)
    code = base::exit_code_for_signal(result->received_signal);

  // The artifacts are collected after a failure too (checkpoints, partial output), as the SDK
  // does.
  auto artifacts = local::collect_artifacts(job->output_dir, *hosts);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (code == 0) {
    log::info("smrun local: job {} succeeded on every host after {:.1f} s", job->job_name, seconds);
  } else {
    log::error("smrun local: job {} FAILED with exit code {} after {:.1f} s", job->job_name, code,
               seconds);
    for (const local::HostEnd& e : ends)
      if (e.exit_code != 0)
        log::error("smrun local: {} exited with {}{}", e.host, e.exit_code,
                   e.reason.empty() ? "" : ": " + e.reason);
  }
  if (!artifacts) {
    log::error("smrun local: {}", artifacts.error().message);
    if (code == 0) code = base::kExitPack;
  } else {
    log::info("smrun local: model: {} ({} entries)", artifacts->model_archive.string(),
              artifacts->model_files);
    log::info("smrun local: output: {} ({} entries)", artifacts->output_archive.string(),
              artifacts->output_files);
  }
  for (const local::HostDir& h : *hosts) {
    std::error_code ec;
    const fs::path plot = h.base / "output" / "data" / "metrics.svg";
    if (fs::exists(plot, ec))
      log::info("smrun local: metrics plot of {}: {}", h.name, plot.string());
  }
  log::info("smrun local: host trees (SAGEMAKER_BASE_DIR of each host): {}/algo-*",
            job->output_dir.string());
  return code;
}

}  // namespace smrun::cli
