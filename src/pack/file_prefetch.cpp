#include "smrun/pack/file_prefetch.hpp"
#include "smrun/base/sys_error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <limits>
#include <thread>

#include <fmt/format.h>

namespace smrun::pack {

namespace {

struct Slot {
  std::atomic<bool> ready{false};
  FileContents contents;
  int error = 0;        // errno of the failed open or read
  bool shrank = false;  // end of file before info.st_size bytes
};

// The directory a reader last opened files in: entries of one directory mostly come one after
// another, so each file costs an openat() of its own name only, not a walk of the whole path.
class DirCache {
 public:
  ~DirCache() {
    if (m_fd >= 0) ::close(m_fd);
  }
  // -1 with errno when the directory cannot be opened.
  int get(const TreeListing& listing, std::size_t dir) {
    if (m_fd >= 0 && m_dir == dir) return m_fd;
    if (m_fd >= 0) ::close(m_fd);
    m_fd = open_listed_directory(listing, dir);
    m_dir = dir;
    return m_fd;
  }

 private:
  int m_fd = -1;
  std::size_t m_dir = 0;
};

void read_into(const TreeListing& listing, const TreeEntry& entry, DirCache& dirs, Slot& slot) {
  const int dir_fd = dirs.get(listing, entry.dir);
  if (dir_fd < 0) {
    slot.error = errno;
    return;
  }
  // O_NOFOLLOW: a file swapped for a symlink since it was listed fails rather than being
  // archived through the link (as in TarWriter::add_file).
  const int fd = ::openat(dir_fd, TreeListing::base_name(entry), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    slot.error = errno;
    return;
  }
  const auto size = static_cast<std::size_t>(entry.info.st_size);
  slot.contents.bytes.reset(new std::uint8_t[size == 0 ? 1 : size]);
  slot.contents.size = size;
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, slot.contents.bytes.get() + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      slot.error = errno;
      break;
    }
    if (n == 0) {
      slot.shrank = true;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

}  // namespace

class FilePrefetcher::Impl {
 public:
  Impl(const TreeListing& listing, PrefetchOptions options)
      : m_listing(listing), m_entries(listing.entries), m_options(options) {
    for (std::size_t i = 0; i < m_entries.size(); ++i)
      if (covers(i)) m_jobs.push_back(i);
    m_slots = std::make_unique<Slot[]>(m_jobs.size());
    const unsigned threads =
        static_cast<unsigned>(std::min<std::size_t>(std::max(1u, options.threads), m_jobs.size()));
    m_workers.reserve(threads);
    for (unsigned t = 0; t < threads; ++t) m_workers.emplace_back([this] { work(); });
  }

  ~Impl() {
    m_stop.store(true);
    // Releases every worker waiting for the window to move.
    m_taken.store(std::numeric_limits<std::size_t>::max() / 2);
    m_taken.notify_all();
    for (std::thread& t : m_workers) t.join();
  }

  bool covers(std::size_t index) const {
    return FilePrefetcher::covers(m_entries[index], m_options);
  }

  base::Expected<FileContents> take(std::size_t index) {
    const std::size_t job = m_next_take;
    if (job >= m_jobs.size() || m_jobs[job] != index)
      return base::fail(base::ErrorKind::kInternal,
                        fmt::format("prefetch: entry {} taken out of order", index));
    Slot& slot = m_slots[job];
    slot.ready.wait(false, std::memory_order_acquire);
    ++m_next_take;
    m_taken.store(m_next_take, std::memory_order_release);
    m_taken.notify_all();
    const TreeEntry& entry = m_entries[index];
    if (slot.error != 0)
      return base::fail(base::ErrorKind::kPack,
                        fmt::format("cannot read {}: {}", m_listing.path_of(entry).string(),
                                    base::errno_text(slot.error)));
    if (slot.shrank)
      return base::fail(base::ErrorKind::kPack,
                        fmt::format("cannot read {}: file shrank from {} bytes while being packed",
                                    m_listing.path_of(entry).string(), entry.info.st_size));
    return std::move(slot.contents);
  }

 private:
  void work() {
    DirCache dirs;
    for (;;) {
      const std::size_t job = m_next_job.fetch_add(1);
      if (job >= m_jobs.size()) return;
      std::size_t taken = m_taken.load(std::memory_order_acquire);
      while (job >= taken + m_options.window) {
        m_taken.wait(taken, std::memory_order_acquire);
        taken = m_taken.load(std::memory_order_acquire);
      }
      if (m_stop.load()) return;
      Slot& slot = m_slots[job];
      read_into(m_listing, m_entries[m_jobs[job]], dirs, slot);
      slot.ready.store(true, std::memory_order_release);
      slot.ready.notify_one();
    }
  }

  const TreeListing& m_listing;
  const std::deque<TreeEntry>& m_entries;
  PrefetchOptions m_options;
  std::vector<std::size_t> m_jobs;  // indices of covered entries, in order
  std::unique_ptr<Slot[]> m_slots;  // one per job
  std::atomic<std::size_t> m_next_job{0};
  std::atomic<std::size_t> m_taken{0};  // jobs handed to the writer so far
  std::atomic<bool> m_stop{false};
  std::size_t m_next_take = 0;  // writer thread only
  std::vector<std::thread> m_workers;
};

FilePrefetcher::FilePrefetcher(const TreeListing& listing, PrefetchOptions options)
    : m_impl(std::make_unique<Impl>(listing, options)) {}

FilePrefetcher::~FilePrefetcher() = default;

bool FilePrefetcher::covers(const TreeEntry& entry, const PrefetchOptions& options) {
  return entry.kind == EntryKind::kFile &&
         static_cast<std::uint64_t>(entry.info.st_size) <= options.max_file_size;
}

bool FilePrefetcher::covers(std::size_t index) const {
  return m_impl->covers(index);
}

base::Expected<FileContents> FilePrefetcher::take(std::size_t index) {
  return m_impl->take(index);
}

}  // namespace smrun::pack
