#include "smrun/pack/tree_listing.hpp"
#include "smrun/base/sys_error.hpp"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include <fmt/format.h>

namespace smrun::pack {

namespace {

base::Unexpected<base::Error> read_failure(const std::filesystem::path& p, int err) {
  return base::fail(base::ErrorKind::kPack,
                    fmt::format("cannot read {}: {}", p.string(), base::errno_text(err)));
}

// Names in one directory, sorted byte-wise (std::string compares as unsigned char), so the order
// does not depend on the filesystem's hash order or the locale.
base::Expected<std::vector<std::string>> sorted_names(const std::filesystem::path& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return read_failure(dir, errno);
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(d);
    if (e == nullptr) break;
    std::string_view n(e->d_name);
    if (n != "." && n != "..") names.emplace_back(n);
  }
  const int err = errno;
  ::closedir(d);
  if (err != 0) return read_failure(dir, err);
  std::sort(names.begin(), names.end());
  return names;
}

base::Status walk(const std::filesystem::path& dir, const std::string& prefix,
                  TreeListing& listing) {
  auto names = sorted_names(dir);
  if (!names) return base::Unexpected<base::Error>(std::move(names).error());
  for (const std::string& n : *names) {
    TreeEntry entry;
    entry.name = prefix.empty() ? n : prefix + "/" + n;
    entry.path = dir / n;
    if (::lstat(entry.path.c_str(), &entry.info) != 0) return read_failure(entry.path, errno);
    const mode_t type = entry.info.st_mode & S_IFMT;
    if (type == S_IFREG) {
      entry.kind = EntryKind::kFile;
    } else if (type == S_IFLNK) {
      entry.kind = EntryKind::kSymlink;
      std::error_code ec;
      entry.link_target = std::filesystem::read_symlink(entry.path, ec).string();
      if (ec) return read_failure(entry.path, ec.value());
    } else if (type == S_IFDIR) {
      entry.kind = EntryKind::kDirectory;
    } else {
      listing.skipped.push_back(entry.name);
      continue;
    }
    const bool is_dir = entry.kind == EntryKind::kDirectory;
    std::filesystem::path sub = entry.path;
    std::string sub_name = entry.name;
    listing.entries.push_back(std::move(entry));
    if (is_dir) {
      if (base::Status s = walk(sub, sub_name, listing); !s) return s;
    }
  }
  return {};
}

}  // namespace

base::Expected<TreeListing> list_tree(const std::filesystem::path& root) {
  struct stat info {};
  // The root itself may be a symlink (e.g. /opt/ml/model linked elsewhere): follow it. Links
  // inside the tree are never followed.
  if (::stat(root.c_str(), &info) != 0) return read_failure(root, errno);
  if (!S_ISDIR(info.st_mode))
    return base::fail(base::ErrorKind::kPack,
                      fmt::format("cannot pack {}: not a directory", root.string()));
  TreeListing listing;
  if (base::Status s = walk(root, "", listing); !s)
    return base::Unexpected<base::Error>(std::move(s).error());
  return listing;
}

}  // namespace smrun::pack
