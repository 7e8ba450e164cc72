// `smrun s3 cp SRC DST`: one object to or from S3 with train's own client, credentials, retries
// and TLS rules. For checking from inside a container that the job's S3 access works, and for
// the benchmarks.

#include <fmt/format.h>

#include <filesystem>

#include "smrun/base/exit_code.hpp"
#include "smrun/base/log.hpp"
#include "smrun/cli/commands.hpp"
#include "smrun/cli/help.hpp"
#include "smrun/cli/s3_setup.hpp"
#include "smrun/s3/client.hpp"
#include "smrun/s3/credentials.hpp"
#include "smrun/s3/object_url.hpp"
#include "smrun/s3/transfer.hpp"
#include "smrun/settings/settings.hpp"
#include "smrun/supervise/signals.hpp"

namespace smrun::cli {

namespace {

int usage_error(const std::string& what) {
  return cli::usage_error("s3", what);
}

}  // namespace

int run_s3_command(const std::vector<std::string>& args, const env::EnvSnapshot& process_env) {
  if (!args.empty() && (args.front() == "--help" || args.front() == "-h")) {
    fmt::print("{}", command_help("s3"));
    return base::kExitSuccess;
  }
  if (args.empty() || args.front() != "cp") return usage_error("smrun s3 takes the command cp");
  if (args.size() != 3) return usage_error("smrun s3 cp takes SRC and DST");
  const std::string& src = args[1];
  const std::string& dst = args[2];
  const bool download = s3::is_s3_url(src);
  if (download == s3::is_s3_url(dst))
    return usage_error("exactly one of SRC and DST must be an s3:// URL");
  auto url = s3::parse_object_url(download ? src : dst);
  if (!url) return usage_error(url.error().message);
  if (url->key.empty() || url->key.back() == '/')
    return usage_error(
        fmt::format("{} names no object (the key is empty or ends with '/')", url->str()));

  const s3::EnvLookup env = [&process_env](const std::string& name) {
    return env::lookup(process_env, name);
  };
  auto settings = settings::read_settings(process_env);
  if (!settings) {
    fmt::print(stderr, "smrun: error: {}\n", settings.error().message);
    return base::kExitConfig;
  }
  auto config = s3::resolve_client_config(env, "", s3::transfer_settings(*settings));
  if (!config) {
    fmt::print(stderr, "smrun: error: {}\n", config.error().message);
    return base::kExitConfig;
  }
  auto credentials = std::make_shared<s3::CredentialCache>(env);
  auto context = std::make_shared<s3::S3Context>(*config, credentials);
  context->set_cancel_check([] { return supervise::stop_signal_pending(); });
  // A download lands beside DST and replaces it only when complete: a failed copy never
  // destroys a file that was there before.
  const std::filesystem::path target(dst);
  const std::filesystem::path partial =
      target.parent_path() / ("." + target.filename().string() + ".smrun-partial");
  auto stats =
      download ? s3::download_file(context, *url, partial) : s3::upload_file(context, src, *url);
  if (!stats) {
    fmt::print(stderr, "smrun: error: {}\n", stats.error().message);
    return base::kExitCode;
  }
  if (download) {
    std::error_code ec;
    std::filesystem::rename(partial, target, ec);
    if (ec) {
      std::filesystem::remove(partial, ec);
      fmt::print(stderr, "smrun: error: cannot move the download into {}: {}\n", dst, ec.message());
      return base::kExitCode;
    }
  }
  const double mib = static_cast<double>(stats->bytes) / (1 << 20);
  log::info("{} {} -> {}: {} bytes in {:.2f} s ({:.1f} MiB/s, {} part{}, {} retr{})",
            download ? "downloaded" : "uploaded", src, dst, stats->bytes, stats->seconds,
            stats->seconds > 0 ? mib / stats->seconds : 0.0, stats->parts,
            stats->parts == 1 ? "" : "s", stats->retries, stats->retries == 1 ? "y" : "ies");
  return base::kExitSuccess;
}

}  // namespace smrun::cli
