#include "smrun/pack/atomic_file.hpp"
#include "smrun/base/sys_error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>
#include <utility>

#include <fmt/format.h>

namespace smrun::pack {

namespace {

base::Unexpected<base::Error> os_failure(const std::string& what, const std::filesystem::path& p,
                                         int err) {
  return base::fail(base::ErrorKind::kPack,
                    fmt::format("cannot {} {}: {}", what, p.string(), base::errno_text(err)));
}

// Six random characters: mkstemp would do, but it creates mode 0600 and fixing that needs the
// process umask, which can only be read by changing it (racy with other threads).
std::string random_suffix() {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::random_device rd;
  std::string s(6, 'x');
  for (char& c : s) c = kAlphabet[rd() % (sizeof(kAlphabet) - 1)];
  return s;
}

}  // namespace

// fdatasync of what the writer has handed it, off the writer's thread. It never touches the
// AtomicFile (which may move), only the descriptor, which stays open until stop() returned.
struct AtomicFile::Flusher {
  explicit Flusher(int fd) : m_fd(fd), m_thread([this] { run(); }) {}
  ~Flusher() { stop(); }
  Flusher(const Flusher&) = delete;
  Flusher& operator=(const Flusher&) = delete;

  void request(std::uint64_t upto) {
    {
      std::lock_guard lock(m_mutex);
      m_requested = upto;
    }
    m_cv.notify_one();
  }

  // Finishes the last request (so what was flushed is exact), then ends the thread.
  int stop() {
    {
      std::lock_guard lock(m_mutex);
      m_stopping = true;
    }
    m_cv.notify_one();
    if (m_thread.joinable()) m_thread.join();
    return m_error;
  }

  std::uint64_t flushed() {
    std::lock_guard lock(m_mutex);
    return m_flushed;
  }

 private:
  void run() {
    std::unique_lock lock(m_mutex);
    for (;;) {
      m_cv.wait(lock, [this] { return m_stopping || pending(); });
      if (!pending()) return;  // stopping, nothing left to do
      const std::uint64_t target = m_requested;
      lock.unlock();
      const int err = ::fdatasync(m_fd) == 0 ? 0 : errno;
      lock.lock();
      if (err != 0)
        m_error = err;  // reported by commit(): this descriptor will not report it again
      else
        m_flushed = target;
    }
  }
  bool pending() const { return m_error == 0 && m_requested > m_flushed; }

  const int m_fd;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::uint64_t m_requested = 0;
  std::uint64_t m_flushed = 0;
  int m_error = 0;
  bool m_stopping = false;
  std::thread m_thread;  // last: starts once the members above exist
};

base::Expected<AtomicFile> AtomicFile::create(const std::filesystem::path& target) {
  if (!target.has_filename())
    return base::fail(base::ErrorKind::kPack,
                      fmt::format("output {} does not name a file", target.string()));
  std::filesystem::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  std::string base_name = ".";
  base_name += target.filename().string();
  base_name += ".tmp-";
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::filesystem::path temp = dir / (base_name + random_suffix());
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return AtomicFile(fd, target, std::move(temp));
    if (errno != EEXIST) return os_failure("create a temporary file in", dir, errno);
  }
  return base::fail(
      base::ErrorKind::kPack,
      fmt::format("cannot create a temporary file in {}: too many name collisions", dir.string()));
}

AtomicFile::AtomicFile(int fd, std::filesystem::path target, std::filesystem::path temp)
    : m_fd(fd), m_target(std::move(target)), m_temp(std::move(temp)) {}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)),
      m_target(std::move(other.m_target)),
      m_temp(std::exchange(other.m_temp, {})),
      m_written(other.m_written),
      m_behind(other.m_behind),
      m_write_behind(other.m_write_behind),
      m_flush_requested(other.m_flush_requested),
      m_flusher(std::move(other.m_flusher)) {}

AtomicFile::~AtomicFile() {
  discard();
}

int AtomicFile::stop_flusher() {
  return m_flusher ? m_flusher->stop() : 0;
}

std::uint64_t AtomicFile::bytes_flushed_early() const {
  return m_flusher ? m_flusher->flushed() : 0;
}

void AtomicFile::discard() {
  stop_flusher();  // it uses the descriptor
  if (m_fd >= 0) ::close(m_fd);
  m_fd = -1;
  if (!m_temp.empty()) ::unlink(m_temp.c_str());
  m_temp.clear();
}

base::Status AtomicFile::write(std::span<const std::uint8_t> data) {
  if (m_fd < 0)
    return base::fail(base::ErrorKind::kPack,
                      fmt::format("cannot write {}: file is closed", m_target.string()));
  while (!data.empty()) {
    ssize_t n = ::write(m_fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_failure("write", m_target, errno);
    }
    data = data.subspan(static_cast<std::size_t>(n));
    m_written += static_cast<std::uint64_t>(n);
  }
  // A hint only: fsync in commit() is what makes the data durable. Without it, commit() of a
  // 200 MB archive waited ~170 ms for write-back that could have run while blocks compressed.
  while (m_write_behind && m_written - m_behind >= kWriteBehind) {
    if (::sync_file_range(m_fd, static_cast<off_t>(m_behind), static_cast<off_t>(kWriteBehind),
                          SYNC_FILE_RANGE_WRITE) != 0) {
      m_write_behind = false;  // EINVAL, ENOSYS, ESPIPE: not supported here; fsync alone will do
      break;
    }
    m_behind += kWriteBehind;
  }
  if (m_written - m_flush_requested >= kFlushEvery) {
    if (!m_flusher) m_flusher = std::make_unique<Flusher>(m_fd);
    m_flusher->request(m_written);
    m_flush_requested = m_written;
  }
  return {};
}

base::Status AtomicFile::commit() {
  if (m_fd < 0)
    return base::fail(base::ErrorKind::kPack,
                      fmt::format("cannot write {}: file is closed", m_target.string()));
  // Data must be on disk before the rename is, or a crash could leave an empty file under the
  // final name (ext4 with data=writeback, xfs).
  if (const int err = stop_flusher(); err != 0) return os_failure("write", m_target, err);
  if (::fsync(m_fd) != 0) return os_failure("write", m_target, errno);
  int fd = std::exchange(m_fd, -1);
  if (::close(fd) != 0) return os_failure("write", m_target, errno);
  if (::rename(m_temp.c_str(), m_target.c_str()) != 0)
    return os_failure("replace", m_target, errno);
  m_temp.clear();  // committed: nothing to clean up any more
  std::filesystem::path dir = m_target.parent_path();
  if (dir.empty()) dir = ".";
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    // Best effort: the archive is complete either way; this only makes the rename durable.
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
  return {};
}

}  // namespace smrun::pack
