#include "smrun/s3/file_snapshot.hpp"
#include "smrun/base/sys_error.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <system_error>

#include "smrun/base/unique_fd.hpp"

namespace smrun::s3 {

namespace fs = std::filesystem;

namespace {

FileFingerprint fingerprint(const struct stat& st) {
  FileFingerprint f;
  f.device = st.st_dev;
  f.inode = st.st_ino;
  f.size = static_cast<std::uint64_t>(st.st_size);
  f.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  f.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  return f;
}

bool reflink(int in, int out) {
  return ::ioctl(out, FICLONE, in) == 0;
}

// Copies `size` bytes in the kernel where it can, else through a buffer. Returns 0 or an errno.
int copy_bytes(int in, int out, std::uint64_t size) {
  std::uint64_t done = 0;
  bool kernel_copy = true;
  std::array<char, 256 * 1024> buffer{};
  while (done < size) {
    ssize_t n = 0;
    if (kernel_copy) {
      loff_t in_off = static_cast<loff_t>(done);
      loff_t out_off = static_cast<loff_t>(done);
      n = ::copy_file_range(in, &in_off, out, &out_off, size - done, 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP ||
                    errno == EPERM)) {
        kernel_copy = false;
        continue;
      }
    } else {
      n = ::pread(in, buffer.data(), std::min<std::uint64_t>(buffer.size(), size - done),
                  static_cast<off_t>(done));
      if (n > 0) {
        for (ssize_t written = 0; written < n;) {
          const ssize_t w =
              ::pwrite(out, buffer.data() + written, static_cast<size_t>(n - written),
                       static_cast<off_t>(done + static_cast<std::uint64_t>(written)));
          if (w < 0 && errno == EINTR) continue;
          if (w < 0) return errno;
          written += w;
        }
      }
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) break;  // the source shrank: the fingerprint check notices
    done += static_cast<std::uint64_t>(n);
  }
  return 0;
}

}  // namespace

std::optional<FileFingerprint> fingerprint_of(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return fingerprint(st);
}

base::Expected<std::optional<Snapshot>> take_snapshot(const fs::path& source,
                                                      const fs::path& staged,
                                                      const SnapshotOptions& options) {
  auto failed = [&](std::string_view what, int err) {
    std::error_code ignored;
    fs::remove(staged, ignored);
    return base::fail(base::ErrorKind::kInternal,
                      fmt::format("cannot copy {} to {} for its upload: {}: {}", source.string(),
                                  staged.string(), what, base::errno_text(err)));
  };
  for (int attempt = 1;; ++attempt) {
    // O_NONBLOCK: a FIFO put in the file's place meanwhile must not block the open.
    base::UniqueFd in(::open(source.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!in.valid()) {
      if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR || errno == ENXIO)
        return std::optional<Snapshot>();
      return failed("open", errno);
    }
    struct stat before {};
    if (::fstat(in.get(), &before) != 0) return failed("fstat", errno);
    if (!S_ISREG(before.st_mode)) return std::optional<Snapshot>();

    Snapshot snap;
    snap.source = fingerprint(before);
    base::UniqueFd out(::open(staged.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!out.valid()) return failed("create", errno);
    if (reflink(in.get(), out.get())) {
      snap.method = SnapshotMethod::kReflink;
    } else {
      struct statvfs vfs {};
      const bool room = ::fstatvfs(out.get(), &vfs) == 0 &&
                        static_cast<double>(snap.source.size) <=
                            options.max_free_share * static_cast<double>(vfs.f_bavail) *
                                static_cast<double>(vfs.f_frsize);
      int err = room ? copy_bytes(in.get(), out.get(), snap.source.size) : ENOSPC;
      if (err == ENOSPC || err == EDQUOT) {
        out.reset();
        std::error_code ignored;
        fs::remove(staged, ignored);
        snap.method = SnapshotMethod::kInPlace;
        snap.path = source;
        return std::optional<Snapshot>(std::move(snap));
      }
      if (err != 0) return failed("copy", err);
      snap.method = SnapshotMethod::kCopy;
    }
    struct stat after {};
    if (::fstat(in.get(), &after) != 0) return failed("fstat", errno);
    const auto now = fingerprint_of(source);  // still the same file under that name?
    snap.consistent = fingerprint(after) == snap.source && now && *now == snap.source;
    snap.path = staged;
    if (snap.consistent || attempt >= options.attempts) return std::optional<Snapshot>(snap);
  }
}

}  // namespace smrun::s3
