#include "smrun/pack/file_prefetch.hpp"
#include "smrun/base/sys_error.hpp"

#include <fcntl.h>
#include <liburing.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <limits>
#include <optional>
#include <thread>

#include <fmt/format.h>

namespace smrun::pack {

namespace {

// Files claimed by a worker at once (fewer when the window is small, see Impl).
constexpr std::size_t kMaxChunkFiles = 32;

struct Slot {
  FileContents contents;
  int error = 0;        // errno of the failed open or read
  bool shrank = false;  // end of file before info.st_size bytes
};

// O_NOFOLLOW: a file swapped for a symlink since it was listed fails rather than being archived
// through the link (as in TarWriter::add_file).
constexpr int kOpenFlags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;

// The directories a worker opens files in, by listing index. Entries of one directory mostly
// come one after another, so each file costs an openat() of its own name only, not a walk of the
// whole path. A chunk may span several directories and the ring needs all of them open until it
// is done, so a few are kept; past kKept the oldest is closed.
class DirFds {
 public:
  DirFds() = default;
  DirFds(const DirFds&) = delete;
  DirFds& operator=(const DirFds&) = delete;
  ~DirFds() {
    for (const Open& o : m_open) ::close(o.fd);
  }
  // -1 with errno when the directory cannot be opened. A returned fd stays open until at least
  // kKept other directories have been asked for.
  int get(const TreeListing& listing, std::size_t dir) {
    for (const Open& o : m_open)
      if (o.dir == dir) return o.fd;
    const int fd = open_listed_directory(listing, dir);
    if (fd < 0) return -1;
    if (m_open.size() == kKept) {
      ::close(m_open.front().fd);
      m_open.erase(m_open.begin());
    }
    m_open.push_back({dir, fd});
    return fd;
  }
  static constexpr std::size_t kKept = kMaxChunkFiles + 1;

 private:
  struct Open {
    std::size_t dir;
    int fd;
  };
  std::vector<Open> m_open;  // oldest first
};

void allocate(const TreeEntry& entry, Slot& slot) {
  const auto size = static_cast<std::size_t>(entry.info.size);
  slot.contents.bytes.reset(new std::uint8_t[size == 0 ? 1 : size]);
  slot.contents.size = size;
}

// One file with plain calls; sets slot.error or slot.shrank on failure.
void read_plain(const TreeListing& listing, const TreeEntry& entry, DirFds& dirs, Slot& slot) {
  slot.error = 0;
  slot.shrank = false;
  const int dir_fd = dirs.get(listing, entry.dir);
  if (dir_fd < 0) {
    slot.error = errno;
    return;
  }
  const int fd = ::openat(dir_fd, TreeListing::base_name(entry), kOpenFlags);
  if (fd < 0) {
    slot.error = errno;
    return;
  }
  allocate(entry, slot);
  const std::size_t size = slot.contents.size;
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

// One chunk's files through io_uring: per file an openat into a fixed-file slot, a read of
// st_size bytes from it and a close, linked, all submitted with one call. The close is
// hard-linked so it runs even when the read fails; the read is cancelled when the open fails.
class Ring {
 public:
  // nullopt where the kernel refuses io_uring or lacks an opcode used here.
  static std::optional<Ring> open(unsigned files) {
    std::optional<Ring> r(std::in_place);
    // Single issuer, completions run when this thread waits: no task-work interrupts (6.1+);
    // older kernels reject the flags, and a plain ring is tried.
    io_uring_params params{};
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    if (io_uring_queue_init_params(files * 4, &r->m_ring, &params) != 0) {
      params = {};
      if (io_uring_queue_init_params(files * 4, &r->m_ring, &params) != 0) return std::nullopt;
    }
    r->m_live = true;
    io_uring_probe* probe = io_uring_get_probe_ring(&r->m_ring);
    const bool ops = probe != nullptr && io_uring_opcode_supported(probe, IORING_OP_OPENAT) &&
                     io_uring_opcode_supported(probe, IORING_OP_READ) &&
                     io_uring_opcode_supported(probe, IORING_OP_CLOSE);
    if (probe != nullptr) io_uring_free_probe(probe);
    if (!ops || io_uring_register_files_sparse(&r->m_ring, files) != 0) return std::nullopt;
    return r;
  }

  // True once the kernel refused a whole chunk's opens as invalid: the caller drops the ring.
  bool refused() const { return m_refused; }

  Ring() = default;
  Ring(Ring&& other) noexcept : m_ring(other.m_ring), m_live(other.m_live) { other.m_live = false; }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  Ring& operator=(Ring&&) = delete;
  ~Ring() {
    if (m_live) io_uring_queue_exit(&m_ring);
  }

  // Reads entries[k] into slots[k] and sets exact[k] (all false on entry) when the ring read
  // file k exactly; any other file must be read again with plain calls (read_plain resets its
  // slot). Returns false if the ring itself failed: nothing of this chunk may be trusted then and
  // the ring must not be used again.
  bool read(const TreeListing& listing, std::span<const TreeEntry* const> entries,
            std::span<Slot> slots, DirFds& dirs, std::vector<bool>& exact) {
    const auto n = static_cast<unsigned>(entries.size());
    std::vector<int> opened(n, 0), got(n, 0);
    std::vector<bool> submitted(n, false);
    unsigned expected = 0;
    for (unsigned k = 0; k < n; ++k) {
      const TreeEntry& entry = *entries[k];
      if (entry.info.size > kMaxRingRead) continue;  // one read's length is 32 bits
      const int dir_fd = dirs.get(listing, entry.dir);
      if (dir_fd < 0) continue;  // the plain pass reports it
      allocate(entry, slots[k]);
      io_uring_sqe* sqe = io_uring_get_sqe(&m_ring);
      // No O_CLOEXEC: a fixed-file slot is not a descriptor, and the kernel refuses the flag.
      io_uring_prep_openat_direct(sqe, dir_fd, TreeListing::base_name(entry),
                                  kOpenFlags & ~O_CLOEXEC, 0, k);
      sqe->flags |= IOSQE_IO_LINK;
      io_uring_sqe_set_data64(sqe, tag(k, kOpen));
      sqe = io_uring_get_sqe(&m_ring);
      io_uring_prep_read(sqe, static_cast<int>(k), slots[k].contents.bytes.get(),
                         static_cast<unsigned>(slots[k].contents.size), 0);
      sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
      io_uring_sqe_set_data64(sqe, tag(k, kRead));
      sqe = io_uring_get_sqe(&m_ring);
      io_uring_prep_close_direct(sqe, k);
      io_uring_sqe_set_data64(sqe, tag(k, kClose));
      submitted[k] = true;
      expected += 3;
    }
    if (expected == 0) return true;
    int rc;
    do {
      rc = io_uring_submit_and_wait(&m_ring, expected);
    } while (rc == -EINTR);
    if (rc < 0) return fail(slots, submitted);
    unsigned seen = 0;
    while (seen < expected) {
      io_uring_cqe* cqe = nullptr;
      rc = io_uring_wait_cqe(&m_ring, &cqe);
      if (rc == -EINTR) continue;
      if (rc < 0) return fail(slots, submitted);
      const std::uint64_t t = io_uring_cqe_get_data64(cqe);
      const unsigned k = static_cast<unsigned>(t >> 2);
      if (k < n) {
        if ((t & 3) == kOpen) opened[k] = cqe->res;
        if ((t & 3) == kRead) got[k] = cqe->res;
      }
      io_uring_cqe_seen(&m_ring, cqe);
      ++seen;
    }
    bool any_exact = false;
    bool refused = false;
    for (unsigned k = 0; k < n; ++k) {
      exact[k] = submitted[k] && opened[k] >= 0 && got[k] >= 0 &&
                 static_cast<std::size_t>(got[k]) == slots[k].contents.size;
      any_exact = any_exact || exact[k];
      refused = refused || (submitted[k] && opened[k] == -EINVAL);
    }
    // A kernel that takes the opcodes but not these arguments: every file would be read twice.
    if (refused && !any_exact) m_refused = true;
    return true;
  }

 private:
  static constexpr std::uint64_t kMaxRingRead = std::uint64_t{1} << 30;
  enum Op : std::uint64_t { kOpen = 0, kRead = 1, kClose = 2 };
  static std::uint64_t tag(unsigned k, Op op) { return (std::uint64_t{k} << 2) | op; }

  // The ring failed with requests possibly still in flight into the slots' buffers: those
  // buffers are given up (leaked, never freed under the kernel's feet) and the ring is closed.
  bool fail(std::span<Slot> slots, const std::vector<bool>& submitted) {
    for (std::size_t k = 0; k < slots.size(); ++k)
      if (submitted[k]) static_cast<void>(slots[k].contents.bytes.release());
    io_uring_queue_exit(&m_ring);
    m_live = false;
    return false;
  }

  io_uring m_ring{};
  bool m_live = false;
  bool m_refused = false;
};

}  // namespace

class FilePrefetcher::Impl {
 public:
  Impl(const TreeListing& listing, PrefetchOptions options)
      : m_listing(listing), m_entries(listing.entries), m_options(options) {
    for (std::size_t i = 0; i < m_entries.size(); ++i)
      if (covers(i)) m_jobs.push_back(i);
    // A chunk is at most a quarter of the window, so workers still read ahead while the writer
    // drains one; the window is then counted in chunks.
    m_chunk_files = std::clamp<std::size_t>(options.window / 4, 1, kMaxChunkFiles);
    m_window_chunks = std::max<std::size_t>(1, options.window / m_chunk_files);
    m_chunks = (m_jobs.size() + m_chunk_files - 1) / m_chunk_files;
    m_slots = std::make_unique<Slot[]>(m_jobs.size());
    m_ready = std::make_unique<std::atomic<bool>[]>(m_chunks);
    const unsigned threads =
        static_cast<unsigned>(std::min<std::size_t>(std::max(1u, options.threads), m_chunks));
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

  std::size_t files_read_by_ring() const { return m_by_ring.load(); }

  base::Expected<FileContents> take(std::size_t index) {
    const std::size_t job = m_next_take;
    if (job >= m_jobs.size() || m_jobs[job] != index)
      return base::fail(base::ErrorKind::kInternal,
                        fmt::format("prefetch: entry {} taken out of order", index));
    const std::size_t chunk = job / m_chunk_files;
    if (job % m_chunk_files == 0) m_ready[chunk].wait(false, std::memory_order_acquire);
    ++m_next_take;
    if (m_next_take % m_chunk_files == 0 || m_next_take == m_jobs.size()) {
      m_taken.store(chunk + 1, std::memory_order_release);  // chunks handed over
      m_taken.notify_all();
    }
    Slot& slot = m_slots[job];
    const TreeEntry& entry = m_entries[index];
    if (slot.error != 0)
      return base::fail(base::ErrorKind::kPack,
                        fmt::format("cannot read {}: {}", m_listing.path_of(entry).string(),
                                    base::errno_text(slot.error)));
    if (slot.shrank)
      return base::fail(base::ErrorKind::kPack,
                        fmt::format("cannot read {}: file shrank from {} bytes while being packed",
                                    m_listing.path_of(entry).string(), entry.info.size));
    return std::move(slot.contents);
  }

 private:
  void work() {
    DirFds dirs;
    std::optional<Ring> ring =
        m_options.io_uring ? Ring::open(static_cast<unsigned>(m_chunk_files)) : std::nullopt;
    std::vector<const TreeEntry*> entries;
    std::vector<bool> exact;
    for (;;) {
      const std::size_t chunk = m_next_chunk.fetch_add(1);
      if (chunk >= m_chunks) return;
      std::size_t taken = m_taken.load(std::memory_order_acquire);
      while (chunk >= taken + m_window_chunks) {
        m_taken.wait(taken, std::memory_order_acquire);
        taken = m_taken.load(std::memory_order_acquire);
      }
      if (m_stop.load()) return;
      const std::size_t first = chunk * m_chunk_files;
      const std::size_t end = std::min(first + m_chunk_files, m_jobs.size());
      std::span<Slot> slots(&m_slots[first], end - first);
      entries.clear();
      for (std::size_t j = first; j < end; ++j) entries.push_back(&m_entries[m_jobs[j]]);
      exact.assign(slots.size(), false);
      if (ring && (!ring->read(m_listing, entries, slots, dirs, exact) || ring->refused()))
        ring.reset();
      std::size_t by_ring = 0;
      for (std::size_t k = 0; k < slots.size(); ++k) {
        if (exact[k]) {
          ++by_ring;
        } else {
          read_plain(m_listing, *entries[k], dirs, slots[k]);
        }
      }
      m_by_ring.fetch_add(by_ring, std::memory_order_relaxed);
      m_ready[chunk].store(true, std::memory_order_release);
      m_ready[chunk].notify_one();
    }
  }

  const TreeListing& m_listing;
  const std::deque<TreeEntry>& m_entries;
  PrefetchOptions m_options;
  std::vector<std::size_t> m_jobs;  // indices of covered entries, in order
  std::size_t m_chunk_files = 1;    // jobs per chunk
  std::size_t m_window_chunks = 1;  // chunks read ahead of the writer, at most
  std::size_t m_chunks = 0;
  std::unique_ptr<Slot[]> m_slots;               // one per job
  std::unique_ptr<std::atomic<bool>[]> m_ready;  // one per chunk: all its slots are filled
  std::atomic<std::size_t> m_next_chunk{0};
  std::atomic<std::size_t> m_taken{0};  // chunks handed to the writer so far
  std::atomic<std::size_t> m_by_ring{0};
  std::atomic<bool> m_stop{false};
  std::size_t m_next_take = 0;  // writer thread only
  std::vector<std::thread> m_workers;
};

FilePrefetcher::FilePrefetcher(const TreeListing& listing, PrefetchOptions options)
    : m_impl(std::make_unique<Impl>(listing, options)) {}

FilePrefetcher::~FilePrefetcher() = default;

bool FilePrefetcher::covers(const TreeEntry& entry, const PrefetchOptions& options) {
  return entry.kind == EntryKind::kFile && entry.info.size <= options.max_file_size;
}

bool FilePrefetcher::covers(std::size_t index) const {
  return m_impl->covers(index);
}

base::Expected<FileContents> FilePrefetcher::take(std::size_t index) {
  return m_impl->take(index);
}

std::size_t FilePrefetcher::files_read_by_ring() const {
  return m_impl->files_read_by_ring();
}

}  // namespace smrun::pack
