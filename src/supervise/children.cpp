#include "smrun/supervise/children.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smrun/base/unique_fd.hpp"

namespace smrun::supervise {

using base::UniqueFd;
namespace {

// Parent pid from the text of /proc/<pid>/stat: "pid (comm) state ppid ...". comm may contain
// spaces and parentheses, so parse after the LAST ')'.
pid_t parent_from_stat(std::string_view stat) {
  std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos || close + 4 >= stat.size()) return -1;
  std::string rest(stat.substr(close + 4));  // skip ") S "
  char* end = nullptr;
  long ppid = std::strtol(rest.c_str(), &end, 10);
  if (end == rest.c_str()) return -1;
  return static_cast<pid_t>(ppid);
}

std::string read_small_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return {};
  char buf[1024];  // ppid is within the first fields; comm is at most 64 bytes
  ssize_t n;
  do {
    n = ::read(fd.get(), buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

std::vector<pid_t> list_children() {
  std::vector<pid_t> children;
  const pid_t self = getpid();
  // /proc must belong to our PID namespace, or its pids would not mean what kill() thinks they
  // mean (PID 1 in a namespace without its own /proc mount). Then we list nothing.
  char link[32] = {};
  if (::readlink("/proc/self", link, sizeof(link) - 1) <= 0 || std::to_string(self) != link)
    return children;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return children;
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || pid <= 0) continue;
    std::string stat = read_small_file("/proc/" + std::string(entry->d_name) + "/stat");
    if (!stat.empty() && parent_from_stat(stat) == self)
      children.push_back(static_cast<pid_t>(pid));
  }
  closedir(proc);
  return children;
}

}  // namespace smrun::supervise
