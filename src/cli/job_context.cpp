#include "smrun/cli/job_context.hpp"
#include "smrun/base/log.hpp"

#include <unistd.h>

#include "smrun/base/secrets.hpp"
#include "smrun/cli/logging.hpp"
#include "smrun/hyperparams/py_format.hpp"

namespace smrun::cli {
namespace {

std::string local_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

void collect_secret_values(const config::PyDict& dict, std::vector<std::string>& out) {
  for (const auto& [k, v] : dict) {
    if (base::is_secret_name(k)) out.push_back(hyperparams::py_str(v));
    if (v.is_dict()) collect_secret_values(v.as_dict(), out);
  }
}

base::Unexpected<JobContextError> context_error(base::Error e, std::optional<config::MlPaths> paths,
                                                std::string host) {
  return base::Unexpected<JobContextError>(
      JobContextError{std::move(e), std::move(paths), std::move(host)});
}

}  // namespace

base::Expected<JobContext, JobContextError> load_job_context(env::EnvSnapshot process_env) {
  JobContext ctx;
  ctx.process_env = std::move(process_env);
  ctx.hostname = local_hostname();
  ctx.paths = config::ml_paths(base_dir(ctx.process_env));

  auto job = config::load_job_config(ctx.paths, ctx.hostname);
  if (!job) return context_error(job.error(), ctx.paths, ctx.hostname);
  ctx.job = std::move(*job);
  if (ctx.job.resource_config_missing)
    log::warn("{} not found: running as a single local host named {}",
              ctx.paths.resource_config_file.string(), ctx.hostname);
  ctx.hostname = ctx.job.resource.current_host;

  // smrun's own settings, after the config so that an error names the configured host.
  auto settings = settings::read_settings(ctx.process_env);
  if (!settings) return context_error(settings.error(), ctx.paths, ctx.hostname);
  for (const auto& name : settings::unknown_settings(ctx.process_env))
    log::warn("{} is not an smrun setting (see smrun train --help); it is ignored", name);

  auto devices =
      env::detect_devices(ctx.process_env, *settings, ctx.job.resource.current_instance_type);
  if (!devices) return context_error(devices.error(), ctx.paths, ctx.hostname);

  env::TrainingEnvInputs inputs;
  inputs.job = &ctx.job;
  inputs.paths = ctx.paths;
  inputs.env = &ctx.process_env;
  inputs.settings = *settings;
  inputs.devices = *devices;
  inputs.smddprun_installed = env::is_on_path(ctx.process_env, "smddprun");
  inputs.smddpmprun_installed = env::is_on_path(ctx.process_env, "smddpmprun");
  ctx.training = env::compute_training_env(inputs);
  inputs.redact_secrets = true;
  ctx.display = env::compute_training_env(inputs);

  if (!apply_python_log_level(ctx.training.log_level))
    log::warn("sagemaker_container_log_level={} is not a logging level; using INFO",
              hyperparams::py_str(ctx.training.log_level));
  collect_secret_values(hyperparams::decode_hyperparameters(ctx.job.hyperparameters),
                        ctx.secret_values);
  for (const auto& [k, v] : ctx.process_env)
    if (base::is_secret_name(k)) ctx.secret_values.push_back(v);
  return ctx;
}

std::filesystem::path base_dir(const env::EnvSnapshot& process_env) {
  if (auto v = env::lookup(process_env, "SAGEMAKER_BASE_DIR"); v && !v->empty()) return *v;
  return config::kDefaultBaseDir;
}

std::filesystem::path code_dir_for_dry_run(const JobContext& ctx) {
  std::error_code ec;
  const auto& code = ctx.paths.code;
  if (std::filesystem::is_directory(code, ec) && !std::filesystem::is_empty(code, ec)) return code;
  std::string submit = ctx.training.module_dir;
  if (submit.rfind("file://", 0) == 0) submit = submit.substr(7);
  if (std::filesystem::is_directory(submit, ec)) return submit;
  return code;
}

}  // namespace smrun::cli
