#pragma once

// Lists a directory tree in archive order without following symlinks. Kept apart from the tar
// writer so the ordering rule (byte-wise sort per level, a directory right before its contents)
// is one small function that can be tested on its own.

#include <sys/stat.h>

#include <cstddef>
#include <deque>
#include <filesystem>
#include <string>
#include <vector>

#include "smrun/base/expected.hpp"

namespace smrun::pack {

enum class EntryKind { kFile, kDirectory, kSymlink };

struct TreeEntry {
  std::string name;     // relative to the root, '/'-separated, no trailing '/'
  std::size_t dir = 0;  // the directory holding it: an index into TreeListing::dirs
  EntryKind kind = EntryKind::kFile;
  struct stat info {};      // lstat() of the entry
  std::string link_target;  // kSymlink only: readlink() as stored, never resolved
};

struct TreeListing {
  std::filesystem::path root;               // as given
  std::vector<std::filesystem::path> dirs;  // every directory, dirs[0] == root
  // A deque: built in place by the walk, never copied or moved as a whole (a 100,000-file tree's
  // entries are ~20 MB, and each page first touched costs a fault: on the machine of record the
  // copy into a vector was a third of the pack's page faults).
  std::deque<TreeEntry> entries;
  std::vector<std::string> skipped;  // FIFOs, sockets, devices: not representable as model files

  // The entry's path for opening and for messages: root / name.
  std::filesystem::path path_of(const TreeEntry& e) const { return root / e.name; }
  // The entry's last name component (what openat() wants, relative to its directory).
  static const char* base_name(const TreeEntry& e);
};

// The root itself is not listed. Fails (kPack) if the root or any directory below cannot be read.
// Names come from readdir; the per-entry lstat runs on up to `threads` threads for large trees.
// Opens listing.dirs[dir] for *at() calls (O_NOFOLLOW below the root). Returns -1 with errno.
int open_listed_directory(const TreeListing& listing, std::size_t dir);

base::Expected<TreeListing> list_tree(const std::filesystem::path& root, unsigned threads = 1);

}  // namespace smrun::pack
