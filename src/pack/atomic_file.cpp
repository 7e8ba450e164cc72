#include "smrun/pack/atomic_file.hpp"
#include "smrun/base/sys_error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <system_error>
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
      m_written(other.m_written) {}

AtomicFile::~AtomicFile() {
  discard();
}

void AtomicFile::discard() {
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
  return {};
}

base::Status AtomicFile::commit() {
  if (m_fd < 0)
    return base::fail(base::ErrorKind::kPack,
                      fmt::format("cannot write {}: file is closed", m_target.string()));
  // Data must be on disk before the rename is, or a crash could leave an empty file under the
  // final name (ext4 with data=writeback, xfs).
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
