#include "smrun/metrics/resources.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <set>
#include <unordered_map>

#include "smrun/base/fd_io.hpp"
#include "smrun/base/unique_fd.hpp"
#include "smrun/metrics/matcher.hpp"

namespace smrun::metrics {
namespace {

template <typename T>
bool to_number(std::string_view text, T& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return !text.empty() && ec == std::errc() && ptr == end;
}

std::optional<std::string> read_small_file(const std::filesystem::path& path) {
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  std::string out;
  if (base::read_all(fd.get(), out) != 0) return std::nullopt;
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  ProcStat stat;
  const std::size_t open = text.find(" (");
  const std::size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return std::nullopt;
  if (!to_number(text.substr(0, open), stat.pid)) return std::nullopt;
  // Fields from 3 (state) on, split at spaces.
  std::vector<std::string_view> fields;
  std::string_view rest = text.substr(close + 1);
  while (!rest.empty()) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\n')) rest.remove_prefix(1);
    const std::size_t space = rest.find_first_of(" \n");
    if (!rest.empty()) fields.push_back(rest.substr(0, space));
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space);
  }
  // fields[0] is field 3 (state): field n is fields[n - 3].
  if (fields.size() < 22) return std::nullopt;
  std::uint64_t utime = 0;
  std::uint64_t stime = 0;
  std::uint64_t vsize = 0;
  if (!to_number(fields[1], stat.ppid) || !to_number(fields[2], stat.pgrp) ||
      !to_number(fields[11], utime) || !to_number(fields[12], stime) ||
      !to_number(fields[19], stat.start_ticks) || !to_number(fields[20], vsize) ||
      !to_number(fields[21], stat.rss_pages))
    return std::nullopt;
  stat.cpu_ticks = utime + stime;
  // A zombie, or a process past the point of its exit where its memory is released but its
  // state still reads R or D (no address space: vsize 0; kernel threads have none either).
  stat.ended = fields[0] == "Z" || fields[0] == "X" || vsize == 0;
  return stat;
}

std::vector<ProcStat> read_proc_stats(const std::filesystem::path& proc) {
  std::vector<ProcStat> out;
  DIR* dir = ::opendir(proc.c_str());
  if (dir == nullptr) return out;
  while (const dirent* entry = ::readdir(dir)) {
    pid_t pid = 0;
    if (!to_number(std::string_view(entry->d_name), pid)) continue;
    auto text = read_small_file(proc / entry->d_name / "stat");
    if (!text) continue;  // it ended meanwhile
    if (auto stat = parse_proc_stat(*text); stat && !stat->ended) out.push_back(*stat);
  }
  ::closedir(dir);
  return out;
}

std::optional<double> read_uptime(const std::filesystem::path& proc) {
  auto text = read_small_file(proc / "uptime");
  if (!text) return std::nullopt;
  const std::string_view first = std::string_view(*text).substr(0, text->find(' '));
  double value = 0;
  if (!parse_number(first, value)) return std::nullopt;
  return value;
}

std::vector<std::optional<TreeUsage>> CpuTracker::sample(const std::vector<ProcStat>& processes,
                                                         const std::vector<pid_t>& roots,
                                                         double uptime) {
  std::unordered_multimap<pid_t, std::size_t> children;  // ppid -> index
  std::unordered_multimap<pid_t, std::size_t> groups;    // pgrp -> index
  for (std::size_t i = 0; i < processes.size(); ++i) {
    children.emplace(processes[i].ppid, i);
    groups.emplace(processes[i].pgrp, i);
  }
  decltype(m_last) seen;
  std::vector<std::optional<TreeUsage>> out;
  for (const pid_t root : roots) {
    std::set<std::size_t> members;
    std::vector<std::size_t> todo;
    auto [first, last] = groups.equal_range(root);
    for (auto it = first; it != last; ++it) todo.push_back(it->second);
    while (!todo.empty()) {
      const std::size_t i = todo.back();
      todo.pop_back();
      if (!members.insert(i).second) continue;
      auto [cfirst, clast] = children.equal_range(processes[i].pid);
      for (auto it = cfirst; it != clast; ++it) todo.push_back(it->second);
    }
    if (members.empty()) {
      out.emplace_back();
      continue;
    }
    TreeUsage usage;
    double cpu_seconds_per_second = 0;
    for (const std::size_t i : members) {
      const ProcStat& p = processes[i];
      const auto key = std::make_pair(p.pid, p.start_ticks);
      const double ticks = static_cast<double>(p.cpu_ticks);
      if (auto it = m_last.find(key); it != m_last.end()) {
        const double elapsed = uptime - it->second.second;
        if (elapsed > 0)
          cpu_seconds_per_second += (ticks - static_cast<double>(it->second.first)) /
                                    static_cast<double>(m_ticks_per_second) / elapsed;
      } else {
        const double elapsed =
            uptime - static_cast<double>(p.start_ticks) / static_cast<double>(m_ticks_per_second);
        if (elapsed > 0)
          cpu_seconds_per_second += ticks / static_cast<double>(m_ticks_per_second) / elapsed;
      }
      seen[key] = {p.cpu_ticks, uptime};
      usage.rss_mib +=
          static_cast<double>(p.rss_pages) * static_cast<double>(m_page_size) / (1024.0 * 1024.0);
      ++usage.processes;
    }
    usage.cpu_percent = std::max(0.0, cpu_seconds_per_second * 100);
    out.push_back(usage);
  }
  m_last = std::move(seen);
  return out;
}

std::vector<GpuUsage> parse_nvidia_smi_query(std::string_view output) {
  std::vector<GpuUsage> out;
  while (!output.empty()) {
    const std::size_t nl = output.find('\n');
    std::string_view line = output.substr(0, nl);
    output = nl == std::string_view::npos ? std::string_view{} : output.substr(nl + 1);
    std::vector<std::string_view> fields;
    while (true) {
      const std::size_t comma = line.find(',');
      fields.push_back(trim(line.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      line.remove_prefix(comma + 1);
    }
    GpuUsage gpu;
    if (fields.size() != 3 || !to_number(fields[0], gpu.index) ||
        !parse_number(fields[1], gpu.utilization_percent) ||
        !parse_number(fields[2], gpu.memory_used_mib))
      continue;
    out.push_back(gpu);
  }
  return out;
}

}  // namespace smrun::metrics
