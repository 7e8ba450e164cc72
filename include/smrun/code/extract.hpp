#pragma once

// Safe extraction of a user's tar archive (sourcedir.tar.gz) into the code directory.
//
// The reference toolkit calls tarfile.extractall() with no member filtering, so a hostile or
// merely sloppy archive could write anywhere smrun (root) can. smrun refuses such members instead:
// the archive is validated member by member before anything is written, and a failed extraction
// leaves the destination as it found it.

#include <cstdint>
#include <filesystem>

#include "smrun/base/expected.hpp"

namespace smrun::code {

struct ExtractOptions {
  // Upper bound on the sum of the declared sizes of all regular-file members. Guards the disk
  // (and the job) against decompression bombs; a real source dir is far below it.
  std::uint64_t max_total_bytes = std::uint64_t{16} << 30;  // 16 GiB
  // Upper bound on the number of members, for the same reason (inode exhaustion).
  std::uint64_t max_members = 1'000'000;
};

// Extracts the tar archive at `archive` (plain, gzip, bzip2, xz or zstd compressed; detected by
// content) into the existing directory `dest`.
//
// Rejected, with a one-line kCode error naming the archive and the member: absolute paths, ".."
// components, symlinks whose target is absolute or leaves dest, hard links to anything but a
// regular file extracted earlier from the same archive, device nodes, FIFOs, sockets, any member
// that would be written through (or replace) a symlink, corrupt or truncated data, and archives
// over the ExtractOptions limits. Modes and mtimes are kept (setuid/setgid stripped); owners are
// not restored. On failure everything this call created in dest is removed again; entries that
// existed before are never deleted.
base::Status extract_archive_safely(const std::filesystem::path& archive,
                                    const std::filesystem::path& dest,
                                    const ExtractOptions& options = {});

// True when `file` is a tar archive that extract_archive_safely can read (the first member
// header parses). Mirrors tarfile.is_tarfile(): the decision is by content, never by name.
bool is_tar_archive(const std::filesystem::path& file);

}  // namespace smrun::code
