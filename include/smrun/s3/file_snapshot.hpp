#pragma once

// A private, unchanging copy of a file that someone may still write to, so that an upload sends
// one consistent version instead of a mix of two. A reflink (FICLONE: btrfs, XFS, overlayfs on
// those) costs no space and is atomic; otherwise the bytes are copied (copy_file_range) and the
// copy counts as consistent when the source did not change while it was copied. When a copy would
// take more than half of the free space, the file is used in place instead (the upload then has
// to check the file afterwards): an upload must never fill the disk the training writes to.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>

#include "smrun/base/expected.hpp"

namespace smrun::s3 {

// What identifies one version of a file: the inode and when and how it last changed.
struct FileFingerprint {
  dev_t device = 0;
  ino_t inode = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  bool operator==(const FileFingerprint&) const = default;
};

// The fingerprint of the regular file at `path` (not following a final symlink); nullopt when
// there is none (missing, a directory, a link, a FIFO, ...).
std::optional<FileFingerprint> fingerprint_of(const std::filesystem::path& path);

enum class SnapshotMethod { kReflink, kCopy, kInPlace };

struct Snapshot {
  SnapshotMethod method = SnapshotMethod::kCopy;
  std::filesystem::path path;  // what to upload: the staged copy, or the source itself (kInPlace)
  FileFingerprint source;      // the source as it was copied
  // The copy holds one version: the source did not change during the copy (a reflink always
  // does). For kInPlace, whether the upload read one version is known only after it.
  bool consistent = false;
};

struct SnapshotOptions {
  int attempts = 3;  // copies tried while the source keeps changing
  // Copy only while the copy needs at most this share of the free space (else kInPlace).
  double max_free_share = 0.5;
};

// Snapshots the regular file `source` into `staged` (created with mode 0600; replaced if it
// exists). nullopt when `source` is not (or no longer) a regular file. Errors name the file.
base::Expected<std::optional<Snapshot>> take_snapshot(const std::filesystem::path& source,
                                                      const std::filesystem::path& staged,
                                                      const SnapshotOptions& options = {});

}  // namespace smrun::s3
