#pragma once

// Lists a directory tree in archive order without following symlinks. Kept apart from the tar
// writer so the ordering rule (byte-wise sort per level, a directory right before its contents)
// is one small function that can be tested on its own.

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <string>
#include <vector>

#include "smrun/base/expected.hpp"

namespace smrun::pack {

enum class EntryKind : std::uint8_t { kFile, kDirectory, kSymlink };

// What an archive keeps of an entry's lstat(). A listing holds one per entry, so only these
// 24 bytes rather than the 144 of struct stat: a 100,000-file tree's entries are ~10 MB instead of
// ~22 MB, and on the machine of record each page first touched costs ~12 us.
struct EntryInfo {
  std::uint64_t size = 0;  // st_size
  std::int64_t mtime = 0;  // st_mtim.tv_sec: archives keep whole seconds
  mode_t mode = 0;         // st_mode: type and permission bits

  static EntryInfo of(const struct stat& st) {
    return {static_cast<std::uint64_t>(st.st_size), st.st_mtim.tv_sec, st.st_mode};
  }
};

struct TreeEntry {
  std::string name;         // relative to the root, '/'-separated, no trailing '/'
  std::string link_target;  // kSymlink only: readlink() as stored, never resolved
  EntryInfo info;           // lstat() of the entry
  std::uint32_t dir = 0;    // the directory holding it: an index into TreeListing::dirs
  EntryKind kind = EntryKind::kFile;
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
