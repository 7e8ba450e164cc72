#include "smrun/report/outcome_files.hpp"

#include "smrun/base/fd_io.hpp"
#include "smrun/base/sys_error.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string_view>
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

namespace {

// The number the next `<name>.previous.N` should get: one more than the highest there ("N" of
// `<name>.previous` alone counts as 1), found in one directory scan, so a tree reused by
// thousands of runs costs one scan and normally one rename, not a probe per older file.
std::uint64_t next_previous_number(const std::filesystem::path& output_dir,
                                   const std::string& name) {
  const std::string stem = name + ".previous";
  std::uint64_t highest = 0;
  DIR* dir = ::opendir(output_dir.c_str());
  if (dir == nullptr) return 1;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view file(entry->d_name);
    if (!file.starts_with(stem)) continue;
    const std::string_view rest = file.substr(stem.size());
    std::uint64_t n = 0;
    if (rest.empty()) {
      n = 1;
    } else if (rest.size() > 1 && rest.size() <= 19 && rest.front() == '.' &&
               rest.find_first_not_of("0123456789", 1) == std::string_view::npos) {
      n = std::stoull(std::string(rest.substr(1)));
    }
    highest = std::max(highest, n);
  }
  ::closedir(dir);
  return highest + 1;
}

std::filesystem::path previous_path(const std::filesystem::path& output_dir,
                                    const std::string& name, std::uint64_t n) {
  std::string file = name + ".previous";
  if (n > 1) file += "." + std::to_string(n);
  return output_dir / file;
}

}  // namespace

base::Expected<std::vector<std::pair<std::filesystem::path, std::filesystem::path>>>
set_aside_previous_outcomes(const std::filesystem::path& output_dir) {
  std::vector<std::pair<std::filesystem::path, std::filesystem::path>> moved;
  for (const std::string name : {"failure", "success"}) {
    const std::filesystem::path from = output_dir / name;
    struct stat st {};
    if (::lstat(from.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) continue;
      return base::fail(base::ErrorKind::kInternal,
                        "cannot check " + from.string() + ": " + base::errno_text(errno));
    }
    auto cannot_move = [&](const std::filesystem::path& to, int error) {
      return base::fail(base::ErrorKind::kInternal, "cannot move " + from.string() + " aside to " +
                                                        to.string() + ": " +
                                                        base::errno_text(error));
    };
    // An empty success marker says nothing but "an earlier run succeeded": it replaces the
    // previous one, so reruns do not pile markers up. A failure file holds a root cause (maybe
    // the program's own words): it is never replaced, and takes the next free number.
    if (name == "success" && S_ISREG(st.st_mode) && st.st_size == 0) {
      const std::filesystem::path to = previous_path(output_dir, name, 1);
      struct stat old {};
      const bool replaceable =
          ::lstat(to.c_str(), &old) != 0 || (S_ISREG(old.st_mode) && old.st_size == 0);
      if (replaceable) {
        if (::rename(from.c_str(), to.c_str()) != 0) return cannot_move(to, errno);
        moved.emplace_back(from, to);
        continue;
      }
    }
    // RENAME_NOREPLACE: an older run's file already set aside stays as it is (and a number
    // taken meanwhile by another process moves this one further on).
    for (std::uint64_t n = next_previous_number(output_dir, name);; ++n) {
      const std::filesystem::path to = previous_path(output_dir, name, n);
      if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
        moved.emplace_back(from, to);
        break;
      }
      if (errno != EEXIST) return cannot_move(to, errno);
    }
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
