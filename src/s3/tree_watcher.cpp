#include "smrun/s3/tree_watcher.hpp"
#include "smrun/base/log.hpp"
#include "smrun/base/sys_error.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <system_error>

namespace smrun::s3 {

namespace fs = std::filesystem;

namespace {

// Directories only, never through a symbolic link; no events for files already unlinked (a
// temporary file written and deleted while open is nobody's output).
constexpr std::uint32_t kWatchMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                     IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK;

bool excluded_name(const std::vector<std::string>& excluded, const std::string& rel) {
  for (const auto& name : excluded)
    if (rel == name || (rel.size() > name.size() && rel.compare(0, name.size(), name) == 0 &&
                        rel[name.size()] == '/'))
      return true;
  return false;
}

std::string join_rel(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

// Lists `rel` (a directory below `root`): subdirectories go to `dirs`, regular files to `files`.
void list_dir(const fs::path& root, const std::string& rel,
              const std::vector<std::string>& excluded, std::vector<std::string>& dirs,
              std::vector<std::string>* files) {
  std::error_code ec;
  fs::directory_iterator it(rel.empty() ? root : root / rel,
                            fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string child = join_rel(rel, it->path().filename().string());
    if (excluded_name(excluded, child)) continue;
    std::error_code type_ec;
    const fs::file_type type = it->symlink_status(type_ec).type();
    if (type == fs::file_type::directory)
      dirs.push_back(child);
    else if (type == fs::file_type::regular && files != nullptr)
      files->push_back(child);
  }
}

}  // namespace

std::vector<std::string> list_regular_files(const fs::path& root,
                                            const std::vector<std::string>& excluded) {
  std::vector<std::string> files;
  std::vector<std::string> pending{""};
  while (!pending.empty()) {
    const std::string dir = std::move(pending.back());
    pending.pop_back();
    list_dir(root, dir, excluded, pending, &files);
  }
  std::sort(files.begin(), files.end());
  return files;
}

base::Expected<std::unique_ptr<TreeWatcher>> TreeWatcher::open(fs::path root,
                                                               TreeWatcherOptions options) {
  base::UniqueFd inotify(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify.valid())
    return base::fail(
        base::ErrorKind::kInternal,
        fmt::format("cannot watch {}: inotify_init1: {}{}", root.string(), base::errno_text(errno),
                    errno == EMFILE ? " (fs.inotify.max_user_instances reached)" : ""));
  base::UniqueFd wakeup(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wakeup.valid())
    return base::fail(
        base::ErrorKind::kInternal,
        fmt::format("cannot watch {}: eventfd: {}", root.string(), base::errno_text(errno)));
  std::unique_ptr<TreeWatcher> watcher(
      new TreeWatcher(std::move(root), std::move(options), std::move(inotify), std::move(wakeup)));
  const int wd = ::inotify_add_watch(watcher->m_inotify.get(), watcher->m_root.c_str(), kWatchMask);
  if (wd < 0)
    return base::fail(
        base::ErrorKind::kInternal,
        fmt::format("cannot watch {}: {}", watcher->m_root.string(), base::errno_text(errno)));
  watcher->m_dirs[wd] = "";
  watcher->add_tree("", nullptr);
  return watcher;
}

TreeWatcher::TreeWatcher(fs::path root, TreeWatcherOptions options, base::UniqueFd inotify,
                         base::UniqueFd wakeup)
    : m_root(std::move(root)),
      m_options(std::move(options)),
      m_inotify(std::move(inotify)),
      m_wakeup(std::move(wakeup)) {}

bool TreeWatcher::excluded(const std::string& rel) const {
  return excluded_name(m_options.excluded, rel);
}

std::string TreeWatcher::join(const std::string& dir, const std::string& name) const {
  return join_rel(dir, name);
}

bool TreeWatcher::add_watch(const std::string& rel) {
  const fs::path path = rel.empty() ? m_root : m_root / rel;
  const int wd = ::inotify_add_watch(m_inotify.get(), path.c_str(), kWatchMask);
  if (wd >= 0) {
    m_dirs[wd] = rel;  // the same directory moved elsewhere in the tree keeps its descriptor
    return true;
  }
  const int err = errno;
  if (err == ENOENT || err == ENOTDIR) return false;  // gone again (or replaced) meanwhile
  // Without a watch the directory is still listed, so scan() finds its files.
  if (err == ENOSPC) {
    if (!m_limit_logged)
      log::warn(
          "cannot watch {}: the inotify watch limit (fs.inotify.max_user_watches) is reached; "
          "files in directories without a watch are uploaded by the final pass",
          path.string());
    m_limit_logged = true;
    return true;
  }
  log::warn("cannot watch {}: {}", path.string(), base::errno_text(err));
  return true;
}

// Watch first, list second: a file created after the listing then has an event, and one
// created in between shows up twice (harmless) rather than never.
void TreeWatcher::add_tree(const std::string& rel, std::vector<std::string>* files) {
  std::vector<std::string> pending{rel};
  while (!pending.empty()) {
    const std::string dir = std::move(pending.back());
    pending.pop_back();
    if (add_watch(dir)) list_dir(m_root, dir, m_options.excluded, pending, files);
  }
}

void TreeWatcher::forget_tree(const std::string& rel) {
  for (auto it = m_dirs.begin(); it != m_dirs.end();) {
    const std::string& dir = it->second;
    if (dir == rel || (dir.size() > rel.size() && dir.compare(0, rel.size(), rel) == 0 &&
                       dir[rel.size()] == '/')) {
      ::inotify_rm_watch(m_inotify.get(), it->first);
      it = m_dirs.erase(it);
    } else {
      ++it;
    }
  }
}

void TreeWatcher::handle(const ::inotify_event& event, TreeEvents& out) {
  if ((event.mask & IN_Q_OVERFLOW) != 0) {
    out.overflowed = true;
    return;
  }
  if ((event.mask & IN_IGNORED) != 0) {  // the directory was deleted, or forget_tree() ran
    if (auto it = m_dirs.find(event.wd); it != m_dirs.end() && it->second.empty())
      log::warn("{} was removed: nothing more in it can be uploaded", m_root.string());
    m_dirs.erase(event.wd);
    return;
  }
  const auto dir = m_dirs.find(event.wd);
  if (dir == m_dirs.end() || event.len == 0) return;
  const std::string rel = join(dir->second, event.name);
  if (excluded(rel)) return;
  if ((event.mask & IN_ISDIR) != 0) {
    if ((event.mask & (IN_CREATE | IN_MOVED_TO)) != 0)
      add_tree(rel, &out.finished);
    else if ((event.mask & IN_MOVED_FROM) != 0)
      forget_tree(rel);  // moved within the tree: IN_MOVED_TO adds it again under its new name
    return;
  }
  if ((event.mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) != 0) {
    out.finished.push_back(rel);
  } else if ((event.mask & IN_CREATE) != 0) {
    // A new name for an existing file (link()) is finished at once; a file just created is
    // being written, and its IN_CLOSE_WRITE follows.
    struct stat st {};
    const fs::path path = m_root / rel;
    if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink > 1)
      out.finished.push_back(rel);
  }
}

TreeEvents TreeWatcher::wait(std::chrono::milliseconds timeout) {
  TreeEvents out;
  pollfd fds[2] = {{m_inotify.get(), POLLIN, 0}, {m_wakeup.get(), POLLIN, 0}};
  const int ms =
      timeout.count() < 0
          ? -1
          : static_cast<int>(std::min<std::int64_t>(timeout.count(), std::int64_t{INT_MAX}));
  int ready = 0;
  do {
    ready = ::poll(fds, 2, ms);
  } while (ready < 0 && errno == EINTR);
  if (ready > 0 && (fds[1].revents & POLLIN) != 0) {
    std::uint64_t count = 0;
    if (::read(m_wakeup.get(), &count, sizeof(count)) == sizeof(count)) out.woken = true;
  }
  alignas(inotify_event) char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(m_inotify.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: nothing more queued
    for (ssize_t offset = 0; offset < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + offset);
      handle(*event, out);
      offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
  return out;
}

void TreeWatcher::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(m_wakeup.get(), &one, sizeof(one));
}

std::vector<std::string> TreeWatcher::scan() {
  std::vector<std::string> files;
  add_tree("", &files);
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace smrun::s3
