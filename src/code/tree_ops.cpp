#include "smrun/code/tree_ops.hpp"
#include "smrun/base/sys_error.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstring>
#include <deque>
#include <system_error>

namespace smrun::code {

namespace fs = std::filesystem;

namespace {

base::Unexpected<base::Error> copy_failure(const fs::path& path, const std::string& what) {
  return base::fail(base::ErrorKind::kCode,
                    fmt::format("cannot copy {} into the code directory: {}", path.string(), what));
}

// Copies the mtime (and atime) of `from` onto `to` without following a final symlink.
void copy_times(const struct stat& from, const fs::path& to) {
  const struct timespec times[2] = {from.st_atim, from.st_mtim};
  // Best effort, like shutil.copystat on filesystems that refuse it.
  (void)utimensat(AT_FDCWD, to.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

base::Status copy_entry(const fs::path& from, const fs::path& to);

base::Status copy_directory(const fs::path& from, const fs::path& to, const struct stat& st) {
  std::error_code ec;
  fs::create_directory(to, ec);
  if (ec) return copy_failure(from, ec.message());
  for (auto it = fs::directory_iterator(from, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    base::Status copied = copy_entry(it->path(), to / it->path().filename());
    if (!copied) return copied;
  }
  if (ec) return copy_failure(from, ec.message());
  // Mode and times last: a read-only directory must still receive its children, and adding
  // children would bump the mtime we are about to restore.
  if (chmod(to.c_str(), st.st_mode & 07777) != 0)
    return copy_failure(from, base::errno_text(errno));
  copy_times(st, to);
  return {};
}

base::Status copy_entry(const fs::path& from, const fs::path& to) {
  struct stat st {};
  if (lstat(from.c_str(), &st) != 0) return copy_failure(from, base::errno_text(errno));
  std::error_code ec;
  switch (st.st_mode & S_IFMT) {
    case S_IFDIR:
      return copy_directory(from, to, st);
    case S_IFLNK: {
      fs::path target = fs::read_symlink(from, ec);
      if (!ec) fs::create_symlink(target, to, ec);
      if (ec) return copy_failure(from, ec.message());
      copy_times(st, to);
      return {};
    }
    case S_IFREG:
      // copy_file copies the permission bits too (shutil.copy2 semantics).
      fs::copy_file(from, to, fs::copy_options::none, ec);
      if (ec) return copy_failure(from, ec.message());
      copy_times(st, to);
      return {};
    default:
      return copy_failure(from,
                          "not a regular file, directory or symlink (device, FIFO or socket)");
  }
}

}  // namespace

base::Status copy_tree_contents(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  for (auto it = fs::directory_iterator(from, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    base::Status copied = copy_entry(it->path(), to / it->path().filename());
    if (!copied) return copied;
  }
  if (ec) return copy_failure(from, ec.message());
  return {};
}

base::Status copy_file_into(const fs::path& file, const fs::path& dir) {
  struct stat st {};
  if (stat(file.c_str(), &st) != 0) return copy_failure(file, base::errno_text(errno));
  if (!S_ISREG(st.st_mode)) return copy_failure(file, "not a regular file or directory");
  const fs::path to = dir / file.filename();
  std::error_code ec;
  fs::copy_file(file, to, fs::copy_options::none, ec);
  if (ec) return copy_failure(file, ec.message());
  copy_times(st, to);
  return {};
}

void remove_tree(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_symlink(path, ec) && fs::is_directory(path, ec)) {
    // Only matters when not running as root: a 0555 directory cannot lose its children.
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    for (auto it = fs::recursive_directory_iterator(path, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_symlink(ec) && it->is_directory(ec))
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
  }
  fs::remove_all(path, ec);
}

base::Expected<bool> symlink_stays_inside(const fs::path& root, const fs::path& link) {
  constexpr int kMaxHops = 40;  // Linux's MAXSYMLINKS
  std::error_code ec;
  std::deque<fs::path> pending;
  auto push_target = [&](const fs::path& symlink) -> bool {
    fs::path target = fs::read_symlink(symlink, ec);
    if (ec || target.is_absolute()) return false;
    std::deque<fs::path> parts(target.begin(), target.end());
    pending.insert(pending.begin(), parts.begin(), parts.end());
    return true;
  };
  if (!push_target(link)) return false;
  fs::path current = link.parent_path();
  int hops = 1;
  while (!pending.empty()) {
    fs::path part = pending.front();
    pending.pop_front();
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (current == root) return false;
      current = current.parent_path();
      continue;
    }
    fs::path next = current / part;
    if (fs::is_symlink(next, ec)) {
      if (++hops > kMaxHops)
        return base::fail(base::ErrorKind::kCode,
                          fmt::format("too many levels of symlinks resolving {}", link.string()));
      if (!push_target(next)) return false;
    } else {
      current = next;
    }
  }
  return true;
}

}  // namespace smrun::code
