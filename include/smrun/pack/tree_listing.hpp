#pragma once

// Lists a directory tree in archive order without following symlinks. Kept apart from the tar
// writer so the ordering rule (byte-wise sort per level, a directory right before its contents)
// is one small function that can be tested on its own.

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "smrun/base/expected.hpp"

namespace smrun::pack {

enum class EntryKind { kFile, kDirectory, kSymlink };

struct TreeEntry {
  std::string name;            // relative to the root, '/'-separated, no trailing '/'
  std::filesystem::path path;  // absolute (root / name), for opening
  EntryKind kind = EntryKind::kFile;
  struct stat info {};      // lstat() of the entry
  std::string link_target;  // kSymlink only: readlink() as stored, never resolved
};

struct TreeListing {
  std::vector<TreeEntry> entries;
  std::vector<std::string> skipped;  // FIFOs, sockets, devices: not representable as model files
};

// The root itself is not listed. Fails (kPack) if the root or any directory below cannot be read.
base::Expected<TreeListing> list_tree(const std::filesystem::path& root);

}  // namespace smrun::pack
