#include "smrun/pack/pack.hpp"
#include "smrun/base/cpu_count.hpp"
#include "smrun/base/log.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "smrun/pack/atomic_file.hpp"
#include "smrun/pack/file_prefetch.hpp"
#include "smrun/pack/parallel_gzip.hpp"
#include "smrun/pack/tar_writer.hpp"
#include "smrun/pack/tree_listing.hpp"

namespace smrun::pack {

namespace fs = std::filesystem;

namespace {

// Below this many small files, threads are not worth starting.
constexpr std::size_t kPrefetchFromFiles = 32;

base::Unexpected<base::Error> pack_error(std::string message) {
  return base::fail(base::ErrorKind::kPack, std::move(message));
}

// Checks that need no work done yet, so a bad OUT fails in milliseconds, not after compressing.
base::Status check_output(const fs::path& dir, const fs::path& out) {
  std::error_code ec;
  if (fs::is_directory(out, ec))
    return pack_error(fmt::format("cannot write {}: it is a directory", out.string()));
  fs::path parent = out.parent_path();
  if (parent.empty()) parent = ".";
  if (!fs::is_directory(parent, ec))
    return pack_error(
        fmt::format("cannot write {}: directory {} does not exist", out.string(), parent.string()));
  // The temporary file would land inside the tree being walked and the source must not change.
  const fs::path real_dir = fs::canonical(dir, ec);
  if (ec) return {};  // reported by the listing with the OS reason
  const fs::path real_parent = fs::canonical(parent, ec);
  if (ec) return {};
  auto rel = real_parent.lexically_relative(real_dir);
  if (!rel.empty() && *rel.begin() != "..")
    return pack_error(fmt::format("cannot write {}: it is inside the directory being packed {}",
                                  out.string(), dir.string()));
  return {};
}

// Readers for a tree of many small files: at least two so one file's open and read overlap the
// next one's even on one CPU (and on a cold cache), at most eight.
unsigned prefetch_threads() {
  return std::clamp(base::usable_cpu_count(), 2u, 8u);
}

base::Status write_entries(const TreeListing& listing, TarWriter& tar, PackResult& result) {
  std::optional<FilePrefetcher> prefetch;
  const PrefetchOptions prefetch_options{prefetch_threads()};
  const auto small_files = std::count_if(
      listing.entries.begin(), listing.entries.end(),
      [&](const TreeEntry& e) { return FilePrefetcher::covers(e, prefetch_options); });
  if (static_cast<std::size_t>(small_files) >= kPrefetchFromFiles)
    prefetch.emplace(listing, prefetch_options);
  for (std::size_t i = 0; i < listing.entries.size(); ++i) {
    const TreeEntry& e = listing.entries[i];
    base::Status s;
    switch (e.kind) {
      case EntryKind::kDirectory:
        s = tar.add_directory(e.name, e.info);
        break;
      case EntryKind::kSymlink:
        s = tar.add_symlink(e.name, e.info, e.link_target);
        break;
      case EntryKind::kFile:
        if (prefetch && prefetch->covers(i)) {
          auto contents = prefetch->take(i);
          if (!contents) return base::Unexpected<base::Error>(std::move(contents).error());
          s = tar.add_file_contents(e.name, e.info, contents->view());
        } else {
          s = tar.add_file(e.name, e.info, listing.path_of(e));
        }
        break;
    }
    if (!s) return s;
    ++result.files;
  }
  return {};
}

}  // namespace

base::Expected<PackResult> pack_directory(const fs::path& dir, const fs::path& out,
                                          const PackOptions& options) {
  if (options.level < 0 || options.level > 12)
    return pack_error(
        fmt::format("compression level {} is out of range, expected 0..12", options.level));
  if (base::Status s = check_output(dir, out); !s)
    return base::Unexpected<base::Error>(std::move(s).error());

  auto listing = list_tree(dir, prefetch_threads());
  if (!listing) return base::Unexpected<base::Error>(std::move(listing).error());
  PackResult result;
  for (const std::string& name : listing->skipped) {
    log::warn("pack: skipping {}/{}: not a regular file, directory or symlink", dir.string(), name);
    result.skipped.push_back(name);
  }

  // Declaration order matters: destroyed in reverse, the tar writer stops feeding the
  // compressor before it stops, and the temporary file is removed last unless committed.
  auto file = AtomicFile::create(out);
  if (!file) return base::Unexpected<base::Error>(std::move(file).error());
  GzipOptions gzip{options.level, options.threads != 0 ? options.threads : base::usable_cpu_count(),
                   options.block_size};
  ParallelGzipWriter gz(
      gzip, [&file](std::span<const std::uint8_t> bytes) { return file->write(bytes); });
  PackProgress progress;
  for (const TreeEntry& e : listing->entries) {
    progress.bytes_total += 512;  // header
    if (e.kind == EntryKind::kFile) progress.bytes_total += (e.info.size + 511) / 512 * 512;
  }
  const auto started = std::chrono::steady_clock::now();
  auto next_report = started + options.progress_interval;
  auto tar = TarWriter::open([&](std::span<const std::uint8_t> bytes) {
    progress.bytes_done += bytes.size();
    if (options.on_progress) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= next_report) {
        next_report = now + options.progress_interval;
        progress.elapsed = now - started;
        PackProgress shown = progress;
        shown.bytes_done = std::min(shown.bytes_done, shown.bytes_total);
        options.on_progress(shown);
      }
    }
    return gz.write(bytes);
  });
  if (!tar) return base::Unexpected<base::Error>(std::move(tar).error());

  if (base::Status s = write_entries(*listing, **tar, result); !s)
    return base::Unexpected<base::Error>(std::move(s).error());
  if (base::Status s = (*tar)->close(); !s)
    return base::Unexpected<base::Error>(std::move(s).error());
  if (base::Status s = gz.finish(); !s) return base::Unexpected<base::Error>(std::move(s).error());
  if (base::Status s = file->commit(); !s)
    return base::Unexpected<base::Error>(std::move(s).error());

  result.bytes_in = (*tar)->content_bytes();
  result.bytes_out = gz.bytes_out();
  return result;
}

}  // namespace smrun::pack
