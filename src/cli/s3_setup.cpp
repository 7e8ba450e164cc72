#include "smrun/cli/s3_setup.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

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

}  // namespace

s3::EnvLookup aws_environment(const JobContext& ctx) {
  const env::EnvSnapshot* env = &ctx.process_env;
  return [env](const std::string& name) { return env::lookup(*env, name); };
}

base::Expected<s3::ClientConfig> s3_client_config(const JobContext& ctx) {
  return s3::resolve_client_config(aws_environment(ctx), sagemaker_region_hyperparameter(ctx));
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
    spdlog::info("Downloading {} (endpoint {}, region {} from {}, credentials from {})", url->str(),
                 endpoint_text(*config), config->region, config->region_source, resolved->source);
    auto context = std::make_shared<s3::S3Context>(*config, credentials);
    context->set_cancel_check([] { return supervise::stop_signal_pending(); });
    const std::filesystem::path dest = scratch / "sourcedir.tar.gz";
    auto stats = s3::download_file(context, *url, dest);
    if (!stats) return base::fail(base::ErrorKind::kCode, stats.error().message);
    const double mib = static_cast<double>(stats->bytes) / (1 << 20);
    spdlog::info("Downloaded {}: {} bytes in {:.2f} s ({:.1f} MiB/s, {} part{}, {} retr{})",
                 url->str(), stats->bytes, stats->seconds,
                 stats->seconds > 0 ? mib / stats->seconds : 0.0, stats->parts,
                 stats->parts == 1 ? "" : "s", stats->retries, stats->retries == 1 ? "y" : "ies");
    return dest;
  };
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
