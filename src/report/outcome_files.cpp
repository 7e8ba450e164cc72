#include "smrun/report/outcome_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace smrun::report {
namespace {

base::Status write_all(int fd, const std::string& text, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return base::fail(base::ErrorKind::kInternal,
                        "cannot write " + path.string() + ": " + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

base::Expected<bool> write_failure_file(const std::filesystem::path& path,
                                        const std::string& text) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  // O_EXCL: never overwrite a failure file the user already wrote.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    return base::fail(base::ErrorKind::kInternal,
                      "cannot create " + path.string() + ": " + std::strerror(errno));
  }
  auto st = write_all(fd, text, path);
  ::close(fd);
  if (!st) return base::Unexpected(st.error());
  return true;
}

base::Status write_success_file(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return base::fail(base::ErrorKind::kInternal,
                      "cannot create " + path.string() + ": " + std::strerror(errno));
  ::close(fd);
  return {};
}

}  // namespace smrun::report
