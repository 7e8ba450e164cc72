#pragma once

// Which files below a directory are finished, from inotify: a file counts as finished when it is
// closed after writing (IN_CLOSE_WRITE), when it appears by rename (IN_MOVED_TO: the atomic
// "write a temporary file, then rename()" save), or when it is found in a directory that was
// created in or moved into the tree. New directories are watched as they appear, and scanned once
// after their watch is in place, so files written before the watch existed are not missed.
// Deletions are not reported. Symbolic links are never followed (neither for directories nor for
// files); only regular files are reported.
//
// One thread calls wait() and scan(); any thread may call wake().

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/base/unique_fd.hpp"

struct inotify_event;  // <sys/inotify.h>

namespace smrun::s3 {

struct TreeWatcherOptions {
  // Names of entries directly below the root that are neither watched nor reported (a private
  // staging directory).
  std::vector<std::string> excluded;
};

struct TreeEvents {
  // Relative paths ("a/b.bin", '/'-separated) of files finished since the last wait(), in the
  // order the kernel reported them; a path can appear more than once.
  std::vector<std::string> finished;
  // The kernel's event queue overflowed and events were lost: scan() to catch up.
  bool overflowed = false;
  // wake() was called.
  bool woken = false;
};

// Every regular file below `root` (relative paths, sorted) without watching anything, skipping
// the `excluded` names directly below the root and never following symbolic links.
std::vector<std::string> list_regular_files(const std::filesystem::path& root,
                                            const std::vector<std::string>& excluded = {});

class TreeWatcher {
 public:
  // Watches `root` (an existing directory) and every directory below it. Errors (inotify
  // unavailable, no instance left, root not watchable) are kInternal and name the root.
  static base::Expected<std::unique_ptr<TreeWatcher>> open(std::filesystem::path root,
                                                           TreeWatcherOptions options = {});
  TreeWatcher(const TreeWatcher&) = delete;
  TreeWatcher& operator=(const TreeWatcher&) = delete;

  // Waits until inotify has events (or until wake(), or `timeout`; a negative timeout waits
  // without limit; zero only takes what is already queued) and handles every queued event.
  TreeEvents wait(std::chrono::milliseconds timeout);
  // Makes the current or the next wait() return (with `woken`).
  void wake();

  // Every regular file below the root now (relative paths, sorted); watches any directory that
  // is not watched yet.
  std::vector<std::string> scan();

  const std::filesystem::path& root() const { return m_root; }
  std::size_t watched_directories() const { return m_dirs.size(); }

 private:
  TreeWatcher(std::filesystem::path root, TreeWatcherOptions options, base::UniqueFd inotify,
              base::UniqueFd wakeup);

  bool excluded(const std::string& rel) const;
  std::string join(const std::string& dir, const std::string& name) const;
  // Watches `rel` (a directory) and everything below it; appends the files found to `files`.
  void add_tree(const std::string& rel, std::vector<std::string>* files);
  // False when `rel` is no longer a directory (it may still lack a watch when true).
  bool add_watch(const std::string& rel);
  void forget_tree(const std::string& rel);
  void handle(const ::inotify_event& event, TreeEvents& out);

  std::filesystem::path m_root;
  TreeWatcherOptions m_options;
  base::UniqueFd m_inotify;
  base::UniqueFd m_wakeup;                      // eventfd
  std::unordered_map<int, std::string> m_dirs;  // watch descriptor -> relative dir ("" = root)
  bool m_limit_logged = false;
};

}  // namespace smrun::s3
