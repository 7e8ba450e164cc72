#include "smrun/cli/train_steps.hpp"
#include "smrun/base/log.hpp"

#include <fmt/format.h>

#include <sys/statvfs.h>

#include <chrono>
#include <cstdint>
#include <filesystem>

#include "smrun/base/exit_code.hpp"
#include "smrun/base/shell_quote.hpp"
#include "smrun/pack/pack.hpp"
#include "smrun/report/failure_report.hpp"
#include "smrun/report/outcome.hpp"
#include "smrun/supervise/signals.hpp"

namespace smrun::cli {

namespace fs = std::filesystem;

std::string display_command(const std::vector<std::string>& argv) {
  return base::shell_command_line(argv);
}

std::string redacted_command(const launch::ProcessPlan& plan, const JobContext& ctx) {
  std::vector<std::string> argv(
      plan.command.begin(), plan.command.end() - static_cast<long>(ctx.training.user_args.size()));
  argv.insert(argv.end(), ctx.display.user_args.begin(), ctx.display.user_args.end());
  return display_command(argv);
}

report::OutcomeFiles outcome_files(const config::MlPaths& paths) {
  return report::OutcomeFiles{paths.failure_file, paths.success_file};
}

int finish_job(const report::Outcome& outcome, const JobContext& ctx) {
  const report::OutcomeFiles files = outcome_files(ctx.paths);
  return report::finish(outcome, &files, ctx.secret_values);
}

int fail_job(const base::Error& error, const config::MlPaths* paths, const std::string& host,
             const std::vector<std::string>& secrets, std::string_view detail,
             std::optional<int> exit_code) {
  const auto outcome = report::smrun_error(error, host, detail, exit_code);
  if (paths == nullptr) return report::finish(outcome, nullptr, secrets);
  const report::OutcomeFiles files = outcome_files(*paths);
  return report::finish(outcome, &files, secrets);
}

std::optional<int> stop_if_signalled(const JobContext& ctx, std::string_view next_step) {
  int sig = supervise::take_pending_stop_signal();
  if (sig == 0) return std::nullopt;
  return finish_job(report::stopped(sig, next_step, ctx.hostname), ctx);
}

namespace {

// An upper bound of the archive's size: the model dir's file contents plus a tar header (and
// padding) per entry, as if nothing compressed.
std::uint64_t archive_size_bound(const fs::path& dir) {
  std::uint64_t total = 1024 * 1024;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
       !ec && it != end; it.increment(ec)) {
    total += 1024;
    std::error_code size_ec;
    if (it->is_regular_file(size_ec) && !it->is_symlink(size_ec)) {
      const auto size = it->file_size(size_ec);
      if (!size_ec) total += size;
    }
  }
  return total;
}

// Packs the model; an error (or a skip for lack of space) says why, with the model dir intact.
base::Status pack_model(const JobContext& ctx, const fs::path& archive) {
  const std::uint64_t bound = archive_size_bound(ctx.paths.model);
  struct statvfs fs_info {};
  fs::path parent = archive.parent_path().empty() ? fs::path(".") : archive.parent_path();
  if (::statvfs(parent.c_str(), &fs_info) == 0) {
    const std::uint64_t free_bytes =
        static_cast<std::uint64_t>(fs_info.f_bavail) * static_cast<std::uint64_t>(fs_info.f_frsize);
    if (free_bytes < bound)
      return base::fail(
          base::ErrorKind::kPack,
          fmt::format("not packing {} into {}: its file system has {:.1f} MiB free and the "
                      "archive may need up to {:.1f} MiB",
                      ctx.paths.model.string(), archive.string(),
                      static_cast<double>(free_bytes) / (1 << 20),
                      static_cast<double>(bound) / (1 << 20)));
  }
  log::info("Packing {} into {}", ctx.paths.model.string(), archive.string());
  pack::PackOptions options;
  options.level = ctx.training.settings.pack_level;
  // A multi-GB model takes a while: say how far it got every 10 s.
  options.on_progress = [](const pack::PackProgress& p) {
    log::info("Packing: {:.0f} of {:.0f} MiB ({:.0f}%) after {:.0f} s",
              static_cast<double>(p.bytes_done) / (1 << 20),
              static_cast<double>(p.bytes_total) / (1 << 20),
              p.bytes_total == 0
                  ? 100.0
                  : 100.0 * static_cast<double>(p.bytes_done) / static_cast<double>(p.bytes_total),
              std::chrono::duration<double>(p.elapsed).count());
  };
  auto t0 = std::chrono::steady_clock::now();
  auto packed = pack::pack_directory(ctx.paths.model, archive, options);
  if (!packed) return base::Unexpected(packed.error());
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  log::info("Packed {} ({} files, {} bytes -> {} bytes) in {} ms", archive.string(), packed->files,
            packed->bytes_in, packed->bytes_out, ms.count());
  return {};
}

}  // namespace

int pack_and_succeed(const JobContext& ctx) {
  if (ctx.training.settings.pack_model != settings::PackMode::kOff) {
    const fs::path archive =
        ctx.training.settings.model_archive.value_or(ctx.paths.output / "model.tar.gz");
    if (auto packed = pack_model(ctx, archive); !packed) {
      // The training finished: without SMRUN_PACK_MODEL=required a pack problem costs the
      // archive, not the job (SageMaker uploads the model dir itself, which is intact).
      if (ctx.training.settings.pack_model == settings::PackMode::kRequired)
        return fail_job(packed.error(), &ctx.paths, ctx.hostname, ctx.secret_values);
      log::error(
          "{}; the program succeeded, so the job still does, and the model stays in {} "
          "(SMRUN_PACK_MODEL=required would fail the job instead)",
          report::scrub_secrets(packed.error().message, ctx.secret_values),
          ctx.paths.model.string());
    }
    // A stop signal during packing waited (blocked) until the model was safe; say so, since
    // the job still ends as a success.
    if (int sig = supervise::take_pending_stop_signal(); sig != 0)
      log::warn("received {} while packing the model; finished packing before stopping",
                supervise::signal_name(sig));
  }
  return finish_job(report::success(), ctx);
}

}  // namespace smrun::cli
