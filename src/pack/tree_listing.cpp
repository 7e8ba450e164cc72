#include "smrun/pack/tree_listing.hpp"
#include "smrun/base/sys_error.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <memory>
#include <system_error>
#include <thread>

#include <fmt/format.h>

namespace smrun::pack {

namespace {

// Below this many entries the stat pass runs on the calling thread alone.
constexpr std::size_t kParallelFromEntries = 2048;
// Entries of one directory stat'ed by one task: large directories are shared between threads.
constexpr std::size_t kTaskEntries = 512;

base::Unexpected<base::Error> read_failure(const std::filesystem::path& p, int err) {
  return base::fail(base::ErrorKind::kPack,
                    fmt::format("cannot read {}: {}", p.string(), base::errno_text(err)));
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};
using DirHandle = std::unique_ptr<DIR, DirCloser>;

// The tree in archive order, with names and types from readdir only (one getdents call returns
// hundreds of names); the per-entry stat is the second pass, which can run in parallel.
struct Draft {
  std::deque<TreeEntry> entries;               // a deque: growing never moves the entries
  std::vector<std::vector<std::size_t>> kids;  // per directory: its entries, in order
};

struct Named {
  std::string name;
  unsigned char type;
};

base::Status walk_names(TreeListing& listing, std::size_t dir_index, const std::string& prefix,
                        Draft& draft) {
  const std::filesystem::path dir = listing.dirs[dir_index];
  const int fd = open_listed_directory(listing, dir_index);
  if (fd < 0) return read_failure(dir, errno);
  DirHandle handle(::fdopendir(fd));
  if (!handle) {
    const int err = errno;
    ::close(fd);
    return read_failure(dir, err);
  }
  std::vector<Named> names;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(handle.get());
    if (e == nullptr) break;
    std::string_view n(e->d_name);
    if (n != "." && n != "..") names.push_back({std::string(n), e->d_type});
  }
  if (errno != 0) return read_failure(dir, errno);
  // Byte-wise (std::string compares as unsigned char): independent of the filesystem's hash order
  // and of the locale.
  std::sort(names.begin(), names.end(),
            [](const Named& a, const Named& b) { return a.name < b.name; });
  for (Named& n : names) {
    if (n.type == DT_UNKNOWN) {  // filesystems without d_type: ask
      struct stat info {};
      if (::fstatat(fd, n.name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0)
        return read_failure(dir / n.name, errno);
      n.type = S_ISDIR(info.st_mode) ? DT_DIR : DT_REG;
    }
  }
  handle.reset();
  for (Named& n : names) {
    TreeEntry& entry = draft.entries.emplace_back();
    entry.name = prefix.empty() ? std::move(n.name) : prefix + "/" + n.name;
    entry.dir = static_cast<std::uint32_t>(dir_index);
    entry.kind = n.type == DT_DIR ? EntryKind::kDirectory : EntryKind::kFile;  // checked by stat
    draft.kids[dir_index].push_back(draft.entries.size() - 1);
    if (n.type == DT_DIR) {
      const std::size_t sub = listing.dirs.size();
      listing.dirs.push_back(listing.root / entry.name);
      draft.kids.emplace_back();
      if (base::Status s = walk_names(listing, sub, entry.name, draft); !s) return s;
    }
  }
  return {};
}

// readlinkat() into a buffer that grows until the target fits. Returns 0 or an errno.
int read_link_at(int dir_fd, const char* name, std::string& target) {
  target.assign(256, '\0');
  for (;;) {
    const ssize_t n = ::readlinkat(dir_fd, name, target.data(), target.size());
    if (n < 0) return errno;
    if (static_cast<std::size_t>(n) < target.size()) {
      target.resize(static_cast<std::size_t>(n));
      return 0;
    }
    target.resize(target.size() * 2);
  }
}

// One stat task: entries [begin, end) of one directory's kids, looked up relative to the open
// directory (no path walk per entry). Failures are recorded per entry as errno.
struct StatTask {
  std::size_t dir;
  std::size_t begin;
  std::size_t end;
};

void run_stat_task(const TreeListing& listing, const StatTask& task, Draft& draft,
                   std::vector<int>& errors) {
  const std::vector<std::size_t>& kids = draft.kids[task.dir];
  const int fd = open_listed_directory(listing, task.dir);
  if (fd < 0) {
    const int err = errno;
    for (std::size_t k = task.begin; k < task.end; ++k) errors[kids[k]] = err;
    return;
  }
  for (std::size_t k = task.begin; k < task.end; ++k) {
    TreeEntry& entry = draft.entries[kids[k]];
    const char* base = TreeListing::base_name(entry);
    struct stat st {};
    if (::fstatat(fd, base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      errors[kids[k]] = errno;
      continue;
    }
    entry.info = EntryInfo::of(st);
    if (S_ISLNK(st.st_mode)) errors[kids[k]] = read_link_at(fd, base, entry.link_target);
  }
  ::close(fd);
}

void stat_all(const TreeListing& listing, Draft& draft, unsigned threads,
              std::vector<int>& errors) {
  std::vector<StatTask> tasks;
  for (std::size_t d = 0; d < draft.kids.size(); ++d)
    for (std::size_t b = 0; b < draft.kids[d].size(); b += kTaskEntries)
      tasks.push_back({d, b, std::min(b + kTaskEntries, draft.kids[d].size())});
  if (threads <= 1 || draft.entries.size() < kParallelFromEntries) {
    for (const StatTask& t : tasks) run_stat_task(listing, t, draft, errors);
    return;
  }
  // Tasks touch disjoint entries; each thread claims the next task.
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t t = next.fetch_add(1); t < tasks.size(); t = next.fetch_add(1))
      run_stat_task(listing, tasks[t], draft, errors);
  };
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

}  // namespace

const char* TreeListing::base_name(const TreeEntry& e) {
  const std::size_t slash = e.name.rfind('/');
  return e.name.c_str() + (slash == std::string::npos ? 0 : slash + 1);
}

int open_listed_directory(const TreeListing& listing, std::size_t dir) {
  // The root may be a symlink and is followed; a directory below that was swapped for a symlink
  // since it was listed fails (ELOOP) instead of being read through the link.
  return ::open(listing.dirs[dir].c_str(),
                O_RDONLY | O_DIRECTORY | O_CLOEXEC | (dir == 0 ? 0 : O_NOFOLLOW));
}

base::Expected<TreeListing> list_tree(const std::filesystem::path& root, unsigned threads) {
  struct stat info {};
  // The root itself may be a symlink (e.g. /opt/ml/model linked elsewhere): follow it. Links
  // inside the tree are never followed.
  if (::stat(root.c_str(), &info) != 0) return read_failure(root, errno);
  if (!S_ISDIR(info.st_mode))
    return base::fail(base::ErrorKind::kPack,
                      fmt::format("cannot pack {}: not a directory", root.string()));
  TreeListing listing;
  listing.root = root;
  listing.dirs.push_back(root);
  Draft draft;
  draft.kids.emplace_back();
  if (base::Status s = walk_names(listing, 0, "", draft); !s)
    return base::Unexpected<base::Error>(std::move(s).error());

  std::vector<int> errors(draft.entries.size(), 0);
  stat_all(listing, draft, threads, errors);

  std::vector<bool> skip(draft.entries.size(), false);
  for (std::size_t i = 0; i < draft.entries.size(); ++i) {
    TreeEntry& entry = draft.entries[i];
    if (errors[i] != 0) return read_failure(listing.path_of(entry), errors[i]);
    const mode_t type = entry.info.mode & S_IFMT;
    const bool listed_as_dir = entry.kind == EntryKind::kDirectory;
    if (listed_as_dir != (type == S_IFDIR))
      return base::fail(base::ErrorKind::kPack,
                        fmt::format("cannot read {}: it changed while being listed",
                                    listing.path_of(entry).string()));
    if (type == S_IFREG) {
      entry.kind = EntryKind::kFile;
    } else if (type == S_IFLNK) {
      entry.kind = EntryKind::kSymlink;
    } else if (type != S_IFDIR) {
      listing.skipped.push_back(entry.name);
      skip[i] = true;
    }
  }
  if (listing.skipped.empty()) {
    listing.entries = std::move(draft.entries);
  } else {  // rare (a FIFO, socket or device in the model dir)
    for (std::size_t i = 0; i < draft.entries.size(); ++i)
      if (!skip[i]) listing.entries.push_back(std::move(draft.entries[i]));
  }
  return listing;
}

}  // namespace smrun::pack
