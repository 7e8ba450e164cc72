#include "smrun/cli/s3_setup.hpp"
#include "smrun/base/log.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "smrun/base/printable.hpp"
#include "smrun/hyperparams/py_format.hpp"
#include "smrun/s3/client.hpp"
#include "smrun/s3/credentials.hpp"
#include "smrun/s3/object_url.hpp"
#include "smrun/s3/transfer.hpp"
#include "smrun/supervise/signals.hpp"

namespace smrun::cli {

namespace {

std::string sagemaker_region_hyperparameter(const JobContext& ctx) {
  const config::PyValue sm = config::PyValue::dict(ctx.training.hyperparameters.sagemaker);
  if (const config::PyValue* region = sm.find("sagemaker_region");
      region != nullptr && region->truthy())
    return hyperparams::py_str(*region);
  return {};
}

std::string endpoint_text(const s3::ClientConfig& config) {
  if (config.endpoint)
    return fmt::format("{} (from {})", config.endpoint->str(), config.endpoint_source);
  return fmt::format("https://s3.{}.amazonaws.com", config.region);
}

// The job name in intermediate output keys, and where it came from: TRAINING_JOB_NAME (what the
// platform sets, as in the reference), else the hyperparameter sagemaker_job_name (what the SDK
// sets), else none (the reference's os.path.join then leaves the component out).
std::pair<std::string, std::string> intermediate_job_name(const JobContext& ctx) {
  if (ctx.training.job_name && !ctx.training.job_name->empty())
    return {*ctx.training.job_name, "TRAINING_JOB_NAME"};
  if (!ctx.training.sagemaker_job_name.empty())
    return {ctx.training.sagemaker_job_name, "sagemaker_job_name"};
  return {"", ""};
}

}  // namespace

s3::EnvLookup aws_environment(const JobContext& ctx) {
  const env::EnvSnapshot* env = &ctx.process_env;
  return [env](const std::string& name) { return env::lookup(*env, name); };
}

base::Expected<s3::ClientConfig> s3_client_config(const JobContext& ctx) {
  return s3::resolve_client_config(aws_environment(ctx), sagemaker_region_hyperparameter(ctx),
                                   s3::transfer_settings(ctx.training.settings));
}

code::RemoteFetch s3_code_fetcher(const JobContext& ctx) {
  return [&ctx](const std::string& uri,
                const std::filesystem::path& scratch) -> base::Expected<std::filesystem::path> {
    auto url = s3::parse_object_url(uri);
    if (!url) return base::Unexpected(url.error());
    auto config = s3_client_config(ctx);
    if (!config) return base::Unexpected(config.error());
    auto credentials = std::make_shared<s3::CredentialCache>(aws_environment(ctx));
    auto resolved = credentials->get();
    if (!resolved)
      return base::fail(base::ErrorKind::kCode,
                        fmt::format("cannot download {}: {}", uri, resolved.error().message));
    log::info("Downloading {} (endpoint {}, region {} from {}, credentials from {})", url->str(),
              endpoint_text(*config), config->region, config->region_source, resolved->source);
    auto context = std::make_shared<s3::S3Context>(*config, credentials);
    context->set_cancel_check([] { return supervise::stop_signal_pending(); });
    const std::filesystem::path dest = scratch / "sourcedir.tar.gz";
    auto stats = s3::download_file(context, *url, dest);
    if (!stats) return base::fail(base::ErrorKind::kCode, stats.error().message);
    const double mib = static_cast<double>(stats->bytes) / (1 << 20);
    log::info("Downloaded {}: {} bytes in {:.2f} s ({:.1f} MiB/s, {} part{}, {} retr{})",
              url->str(), stats->bytes, stats->seconds,
              stats->seconds > 0 ? mib / stats->seconds : 0.0, stats->parts,
              stats->parts == 1 ? "" : "s", stats->retries, stats->retries == 1 ? "y" : "ies");
    return dest;
  };
}

base::Expected<std::unique_ptr<s3::IntermediateSync>> start_intermediate_sync(
    const JobContext& ctx) {
  namespace fs = std::filesystem;
  const config::PyValue sm = config::PyValue::dict(ctx.training.hyperparameters.sagemaker);
  const config::PyValue* output = sm.find("sagemaker_s3_output");
  using Sync = std::unique_ptr<s3::IntermediateSync>;
  if (output == nullptr || !output->truthy()) return Sync();
  const fs::path& dir = ctx.paths.output_intermediate;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    log::info("{} already exists, so the platform syncs it to S3: smrun does not upload it",
              dir.string());
    return Sync();
  }
  if (!output->is_str())
    return base::fail(base::ErrorKind::kConfig,
                      fmt::format("hyperparameter sagemaker_s3_output={}: expected an s3:// URL",
                                  base::printable(hyperparams::py_str(*output))));
  const auto [job_name, job_name_source] = intermediate_job_name(ctx);
  auto target = s3::intermediate_target(output->as_str(), job_name);
  if (!target) return base::Unexpected(target.error());
  fs::create_directories(dir, ec);
  if (ec)
    return base::fail(base::ErrorKind::kInternal,
                      fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  if (!*target) {
    log::debug("sagemaker_s3_output is a local directory: no intermediate output sync");
    return Sync();
  }
  auto config = s3_client_config(ctx);
  if (!config) return base::Unexpected(config.error());
  const std::chrono::seconds wait = ctx.training.settings.s3_sync_wait;
  if (job_name_source.empty())
    log::warn(
        "neither TRAINING_JOB_NAME nor sagemaker_job_name is set: intermediate output "
        "goes to {}/ without a job name, as the reference does",
        (*target)->str());
  else if (job_name_source != "TRAINING_JOB_NAME")
    log::info("TRAINING_JOB_NAME is not set: intermediate output keys use {}={}", job_name_source,
              job_name);
  const std::string credentials = s3::describe_credential_source(aws_environment(ctx));
  log::info(
      "Syncing {} to {}/ while the job runs (endpoint {}, region {} from {}, "
      "credentials: {})",
      dir.string(), (*target)->str(), endpoint_text(*config), config->region, config->region_source,
      credentials);
  if (credentials.rfind("none", 0) == 0)
    log::warn("no AWS credentials would be found: intermediate output uploads will fail");
  auto context = std::make_shared<s3::S3Context>(
      *config, std::make_shared<s3::CredentialCache>(aws_environment(ctx)));
  s3::IntermediateSyncOptions options;
  options.dir = dir;
  options.target = **target;
  options.final_wait = wait;
  auto sync = s3::IntermediateSync::start(std::move(context), std::move(options));
  if (!sync) return base::Unexpected(sync.error());
  return std::move(*sync);
}

std::optional<S3DryRun> s3_dry_run(const JobContext& ctx) {
  if (!s3::is_s3_url(ctx.training.module_dir)) return std::nullopt;
  S3DryRun out;
  out.url = ctx.training.module_dir;
  if (auto url = s3::parse_object_url(ctx.training.module_dir); !url)
    out.warning = url.error().message;
  auto config = s3_client_config(ctx);
  if (!config) {
    out.warning = config.error().message;
    return out;
  }
  out.endpoint = endpoint_text(*config);
  out.region = config->region;
  out.region_source = config->region_source;
  out.credentials = s3::describe_credential_source(aws_environment(ctx));
  if (out.credentials.rfind("none", 0) == 0 && out.warning.empty())
    out.warning = fmt::format("train could not download {}: no AWS credentials would be found ({})",
                              out.url, out.credentials);
  return out;
}

}  // namespace smrun::cli
