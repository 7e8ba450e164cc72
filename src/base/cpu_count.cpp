#include "smrun/base/cpu_count.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>

namespace smrun::base {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_small(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string text;
  std::getline(in, text);
  return text;
}

std::optional<long long> to_number(std::string_view text) {
  long long v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr == text.data()) return std::nullopt;
  return v;
}

// CPUs a quota of `quota` per `period` gives, rounded up; nullopt for "no limit".
std::optional<unsigned> cpus_of(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  return static_cast<unsigned>(std::max(1.0, std::ceil(static_cast<double>(quota) / period)));
}

// v2: "max 100000" or "200000 100000".
std::optional<unsigned> v2_limit(const fs::path& dir) {
  auto text = read_small(dir / "cpu.max");
  if (!text) return std::nullopt;
  const auto space = text->find(' ');
  if (space == std::string::npos) return std::nullopt;
  auto quota = to_number(std::string_view(*text).substr(0, space));
  auto period = to_number(std::string_view(*text).substr(space + 1));
  if (!quota || !period) return std::nullopt;  // "max": no limit
  return cpus_of(*quota, *period);
}

std::optional<unsigned> v1_limit(const fs::path& dir) {
  auto quota = read_small(dir / "cpu.cfs_quota_us");
  auto period = read_small(dir / "cpu.cfs_period_us");
  if (!quota || !period) return std::nullopt;
  auto q = to_number(*quota);
  auto p = to_number(*period);
  if (!q || !p) return std::nullopt;
  return cpus_of(*q, *p);
}

// The tightest limit from `leaf` up to `top` (both inside the mounted hierarchy).
template <class Limit>
std::optional<unsigned> tightest(const fs::path& top, fs::path leaf, Limit limit) {
  std::optional<unsigned> best;
  for (;;) {
    if (auto l = limit(leaf)) best = best ? std::min(*best, *l) : *l;
    if (leaf == top || leaf.parent_path() == leaf) break;
    leaf = leaf.parent_path();
    if (leaf.string().size() < top.string().size()) break;  // a path with ".." out of the mount
  }
  return best;
}

}  // namespace

unsigned usable_cpu_count(unsigned affinity, std::string_view proc_self_cgroup,
                          const fs::path& cgroup_root) {
  unsigned cpus = std::max(1u, affinity);
  std::istringstream lines{std::string(proc_self_cgroup)};
  for (std::string line; std::getline(lines, line);) {
    // "hierarchy-ID:controller-list:path"
    const auto first = line.find(':');
    const auto second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (path.empty() || path.front() != '/') continue;
    path.erase(0, 1);
    std::optional<unsigned> limit;
    if (controllers.empty()) {  // v2
      // Pure v2 at the root; hybrid systems mount it at unified/.
      std::error_code ec;
      const fs::path top =
          fs::is_directory(cgroup_root / "unified", ec) ? cgroup_root / "unified" : cgroup_root;
      limit = tightest(top, (top / path).lexically_normal(), v2_limit);
    } else {
      bool has_cpu = false;
      std::istringstream names(controllers);
      for (std::string n; std::getline(names, n, ',');) has_cpu = has_cpu || n == "cpu";
      if (!has_cpu) continue;
      for (const fs::path mount : {cgroup_root / controllers, cgroup_root / "cpu"}) {
        std::error_code ec;
        if (!fs::is_directory(mount, ec)) continue;
        limit = tightest(mount, (mount / path).lexically_normal(), v1_limit);
        break;
      }
    }
    if (limit) cpus = std::min(cpus, *limit);
  }
  return std::max(1u, cpus);
}

unsigned usable_cpu_count() {
  unsigned affinity = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0)
    affinity = static_cast<unsigned>(CPU_COUNT(&set));
  if (affinity == 0)
    affinity = static_cast<unsigned>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  std::ifstream in("/proc/self/cgroup");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return usable_cpu_count(affinity, text, "/sys/fs/cgroup");
}

}  // namespace smrun::base
