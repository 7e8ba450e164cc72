#pragma once

// Filesystem tree operations shared by the submit-directory copy and the archive extraction:
// copying a tree faithfully, undoing a partial copy, and checking where a symlink really leads.

#include <filesystem>
#include <string>

#include "smrun/base/expected.hpp"

namespace smrun::code {

// Copies the contents of directory `from` into the existing directory `to`: symlinks are
// recreated as symlinks (never followed), modes and mtimes are kept, the source is only read.
// Fails (kCode) on device nodes, FIFOs and sockets, which a source directory has no use for and
// which would block or mislead a naive copy. Does not clean up on failure; the caller does.
base::Status copy_tree_contents(const std::filesystem::path& from, const std::filesystem::path& to);

// Copies the regular file `file` (following a symlink, like shutil.copy2) into directory `dir`
// under its own name, keeping its mode and mtime.
base::Status copy_file_into(const std::filesystem::path& file, const std::filesystem::path& dir);

// Removes `path` and everything below it, without following symlinks, making read-only
// directories writable first. Best effort: errors are ignored (used on failure paths).
void remove_tree(const std::filesystem::path& path);

// Resolves the symlink `link` (an absolute path below the absolute, symlink-free `root`) one
// component at a time, following further symlinks the way the kernel would, and reports whether
// every step stays inside `root`. Missing components are taken lexically. Fails (kCode) on
// more than 40 hops (a loop). `link`'s parent directories must not be symlinks.
base::Expected<bool> symlink_stays_inside(const std::filesystem::path& root,
                                          const std::filesystem::path& link);

}  // namespace smrun::code
