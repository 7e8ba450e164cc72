#include "smrun/report/outcome_files.hpp"

#include "smrun/base/fd_io.hpp"
#include "smrun/base/sys_error.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace smrun::report {
namespace {

base::Status write_all(int fd, const std::string& text, const std::filesystem::path& path) {
  if (const int error = base::write_all(fd, text); error != 0)
    return base::fail(base::ErrorKind::kInternal,
                      "cannot write " + path.string() + ": " + base::errno_text(error));
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
                      "cannot create " + path.string() + ": " + base::errno_text(errno));
  }
  auto st = write_all(fd, text, path);
  ::close(fd);
  if (!st) return base::Unexpected(st.error());
  return true;
}

base::Expected<std::vector<std::pair<std::filesystem::path, std::filesystem::path>>>
set_aside_previous_outcomes(const std::filesystem::path& output_dir) {
  std::vector<std::pair<std::filesystem::path, std::filesystem::path>> moved;
  for (const char* name : {"failure", "success"}) {
    const std::filesystem::path from = output_dir / name;
    struct stat st {};
    if (::lstat(from.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) continue;
      return base::fail(base::ErrorKind::kInternal,
                        "cannot check " + from.string() + ": " + base::errno_text(errno));
    }
    bool done = false;
    for (int n = 1; n <= 1000 && !done; ++n) {
      std::filesystem::path to = output_dir / (std::string(name) + ".previous");
      if (n > 1) to += "." + std::to_string(n);
      // RENAME_NOREPLACE: an older run's file already set aside stays as it is.
      if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
        moved.emplace_back(from, to);
        done = true;
      } else if (errno != EEXIST) {
        return base::fail(base::ErrorKind::kInternal, "cannot move " + from.string() +
                                                          " aside to " + to.string() + ": " +
                                                          base::errno_text(errno));
      }
    }
    if (!done)
      return base::fail(base::ErrorKind::kInternal,
                        "cannot move " + from.string() + " aside: " + name +
                            ".previous through .previous.1000 all exist");
  }
  return moved;
}

base::Status write_success_file(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return base::fail(base::ErrorKind::kInternal,
                      "cannot create " + path.string() + ": " + base::errno_text(errno));
  ::close(fd);
  return {};
}

}  // namespace smrun::report
